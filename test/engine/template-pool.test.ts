import { describe, expect, it } from 'vitest';
import { bundleTemplateWorker, createTemplatePool } from '../../src/engine/render/template-pool';

/**
 * The render threads start from one script esbuild bundles; where esbuild cannot run they boot
 * through tsx. Both must render a tenant's template the same way, limits included.
 */
describe('render threads', () => {
  const jobs = [
    { source: 'Hi {{ lead.firstName | default: "there" }}', vars: { lead: { firstName: 'Ada' } } },
    { source: '{{ lead.missing | upcase }}!', vars: { lead: {} } },
    { source: '{% for i in (1..10) %}{{ i }}{% endfor %}', vars: {} },
    {
      source:
        '{% assign s = "xxxxxxxxxx" %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s }}',
      vars: {},
    },
  ];

  it('renders alike from the bundle and through tsx', async () => {
    const script = await bundleTemplateWorker();
    expect(script).toEqual(expect.any(String));
    const bundled = await createTemplatePool(1, script).render(jobs);
    const throughTsx = await createTemplatePool(1, null).render(jobs);
    expect(bundled).toEqual(throughTsx);
    expect(bundled.slice(0, 3)).toEqual([
      { ok: true, text: 'Hi Ada' },
      { ok: true, text: '!' },
      { ok: true, text: '12345678910' },
    ]);
    expect(bundled[3]).toEqual({ ok: false, error: 'memory limit exceeded' });
  }, 30_000);
});
