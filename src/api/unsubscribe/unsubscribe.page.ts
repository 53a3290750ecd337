import { escapeHtml } from '../../core/html-text';

const layout = (title: string, body: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}
button{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:.3rem;background:#222;color:#fff;cursor:pointer}
</style>
</head>
<body>
${body}
</body>
</html>`;

/** The GET page: it only offers the button, because link scanners follow every GET. */
export const confirmPage = (action: string) =>
  layout(
    'Unsubscribe',
    `<h1>Unsubscribe</h1>
<p>Click the button to stop receiving these emails.</p>
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button>
</form>`,
  );

export const donePage = () =>
  layout('Unsubscribed', '<h1>You are unsubscribed</h1><p>You will not receive these emails any more.</p>');

export const invalidPage = () =>
  layout(
    'Link not valid',
    '<h1>This link is not valid</h1><p>Please use the link from the latest email.</p>',
  );
