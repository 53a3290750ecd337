// Enhancements over pages that work without JavaScript: a stage <select> moves its card on change,
// and cards can be dragged between columns. A drop only sets the card's own <select> and submits
// its form, so both ways take the same request (and the same CSRF token) to the server.
(() => {
  const submit = (form) => {
    if (typeof form.requestSubmit === 'function') form.requestSubmit();
    else form.submit();
  };

  document.addEventListener('change', (event) => {
    const select = event.target;
    if (select instanceof HTMLSelectElement && select.closest('form.move')) submit(select.form);
  });

  const enableDrag = (root) => {
    if (typeof window.Sortable === 'undefined') return;
    for (const list of root.querySelectorAll('ul.cards')) {
      if (list.dataset.sortable) continue;
      list.dataset.sortable = 'on';
      window.Sortable.create(list, {
        group: 'board',
        draggable: '.card',
        forceFallback: true,
        filter: 'select, button, a, input',
        preventOnFilter: false,
        onEnd: (event) => {
          const stage = event.to.dataset.stage;
          const form = event.item.querySelector('form.move');
          if (!form || !stage || event.from === event.to) return;
          form.elements.stage.value = stage;
          submit(form);
        },
      });
    }
  };

  document.addEventListener('DOMContentLoaded', () => enableDrag(document));
  document.addEventListener('htmx:afterSettle', () => enableDrag(document));
})();
