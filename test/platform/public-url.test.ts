import { describe, expect, it } from 'vitest';
import { defaultPublicUrl, loadConfig } from '../../src/config';

describe('PUBLIC_URL', () => {
  it.each([
    [{}, 'http://localhost:3000'],
    [{ PORT: '8080' }, 'http://localhost:8080'],
    [{ PORT: '8080', HOST: '0.0.0.0' }, 'http://localhost:8080'],
    [{ PORT: '8080', HOST: '::' }, 'http://localhost:8080'],
    [{ PORT: '4000', HOST: '127.0.0.1' }, 'http://localhost:4000'],
    [{ PORT: '4000', HOST: 'engine.internal' }, 'http://engine.internal:4000'],
    [{ PORT: '4000', HOST: '10.0.0.5' }, 'http://10.0.0.5:4000'],
    [{ PORT: '4000', HOST: 'fd00::5' }, 'http://[fd00::5]:4000'],
  ])('defaults from the listening address: %j → %s', (env, expected) => {
    expect(loadConfig(env).PUBLIC_URL).toBe(expected);
  });

  it('keeps a value that is set, whatever the port', () => {
    expect(loadConfig({ PORT: '8080', PUBLIC_URL: 'https://out.example.com' }).PUBLIC_URL).toBe(
      'https://out.example.com',
    );
  });

  it('is a function of HOST and PORT alone', () => {
    expect(defaultPublicUrl({ HOST: '::1', PORT: 1 })).toBe('http://localhost:1');
  });
});
