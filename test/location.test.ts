import { describe, it, expect } from 'vitest';
import { maskLocation, schemeOf } from '../src/index.js';
import { pyQuote, splitCredentials } from '../src/location.js';
import { BadStoreUriError } from '../src/errors.js';
import { imageIdFromLocation } from '../src/location.js';

describe('locations', () => {
  it('masks credentials inside URIs, up to the last @ as glance_store splits them', () => {
    expect(maskLocation('swift+https://tenant%3Auser:s3cr3t@auth.example.com/v3/glance/abc')).toBe('swift+https://tenant%3Auser:***@auth.example.com/v3/glance/abc');
    expect(maskLocation('s3://AKIA:wJalr/XUt+n@FEMI@s3.example.com/bucket/img')).toBe('s3://AKIA:***@s3.example.com/bucket/img');
    // Swift s3api access keys are account:user: the user part stays, the secret goes.
    expect(maskLocation('s3://test:tester:testing@127.0.0.1:8080/b/k')).toBe('s3://test:tester:***@127.0.0.1:8080/b/k');
    expect(maskLocation('swift+http://test%3Atester:se:cret@h/v1/c/o')).toBe('swift+http://test%3Atester:***@h/v1/c/o');
    expect(maskLocation('swift+http://dept/ops%3Auser:TOPSECRET@h/v1/c/o')).toBe('swift+http://dept/ops%3Auser:***@h/v1/c/o');
    expect(maskLocation('http://bob:pw@example.com/x.img')).toBe('http://bob:***@example.com/x.img');
    expect(maskLocation('file:///var/lib/glance/images/abc')).toBe('file:///var/lib/glance/images/abc');
    expect(maskLocation('rbd://fsid/images/abc/snap')).toBe('rbd://fsid/images/abc/snap');
  });

  it('masks lone user tokens and credential query parameters, for every scheme', () => {
    expect(maskLocation('http://gh_T0KEN@example.com/x.img')).toBe('http://***@example.com/x.img');
    expect(maskLocation('https://h/x.img?X-Amz-Credential=AKIA%2F2026&X-Amz-Signature=abc123&part=1')).toBe(
      'https://h/x.img?X-Amz-Credential=***&X-Amz-Signature=***&part=1',
    );
    expect(maskLocation('swift+https://h/v1/AUTH_p/c/o?temp_url_sig=deadbeef&temp_url_expires=1')).toBe('swift+https://h/v1/AUTH_p/c/o?temp_url_sig=***&temp_url_expires=1');
    expect(maskLocation('http://h/x?token=s3cr3t;api_key=k3y')).toBe('http://h/x?token=***;api_key=***');
    expect(maskLocation('file://user:pw@/var/lib/glance/images/x')).toBe('file://user:***@/var/lib/glance/images/x');
    expect(maskLocation('http://***@h/x')).toBe('http://***@h/x');
  });

  it('reports a malformed %-escape as BadStoreUri, never a raw URIError', async () => {
    expect(() => imageIdFromLocation('file:///var/lib/glance/images/%E0%A4%A')).toThrow(expect.objectContaining({ code: 'BadStoreUri', message: expect.stringMatching(/malformed %-escape/) }));
    const { parseHttpLocation } = await import('../src/drivers/http/location.js');
    expect(() => parseHttpLocation('http://us%ZZer:p%ZZw@h/x')).toThrow(expect.objectContaining({ code: 'BadStoreUri' }));
    const { parseRbdLocation } = await import('../src/drivers/rbd/location.js');
    expect(() => parseRbdLocation('rbd://fsid/images/%ZZ/snap')).toThrow(expect.objectContaining({ code: 'BadStoreUri' }));
  });

  it('masks every URI inside free text', () => {
    const text = 'failed to read s3://AK:SECRET1@h/b/k and swift://u:SECRET2@h/c/o, giving up';
    const masked = maskLocation(text);
    expect(masked).not.toMatch(/SECRET/);
    expect(masked).toContain('s3://AK:***@h/b/k');
    expect(masked).toContain('swift://u:***@h/c/o,');
  });

  it('reads schemes and splits credentials', () => {
    expect(schemeOf('Swift+HTTPS://x')).toBe('swift+https');
    expect(() => schemeOf('/no/scheme')).toThrow(/no URI scheme/);
    const bad = (why: string) => new BadStoreUriError(why);
    // One @ ends the credentials; the last colon splits them (s3api keys are account:user, secrets may hold `/`).
    expect(splitCredentials('test:tester:se/cret@host/bucket/key', 'ACCESS:SECRET', bad)).toEqual({ user: 'test:tester', secret: 'se/cret', rest: 'host/bucket/key' });
    expect(splitCredentials('acct%3Auser:p%40ss@auth.example.com', 'USER:KEY', bad)).toEqual({ user: 'acct%3Auser', secret: 'p%40ss', rest: 'auth.example.com' });
    expect(splitCredentials('fsid/pool/img/snap', 'USER:KEY', bad)).toEqual({ rest: 'fsid/pool/img/snap' });
    expect(() => splitCredentials('a:b@c@host/b/k', 'ACCESS:SECRET', bad)).toThrow(/more than one @/);
    expect(() => splitCredentials('TOPSECRET@host/b/k', 'ACCESS:SECRET', bad)).toThrow(/credentials must be ACCESS:SECRET/);
  });

  it('quote location parts as Python\'s urllib.parse.quote does', () => {
    expect(pyQuote("a:b/c~d_e.f-g k!'()*@%")).toBe('a%3Ab/c~d_e.f-g%20k%21%27%28%29%2A%40%25');
    expect(pyQuote('my pool/a:b', '')).toBe('my%20pool%2Fa%3Ab');
    expect(pyQuote('é€', '')).toBe('%C3%A9%E2%82%AC');
    expect(pyQuote('a:b/c', ':/')).toBe('a:b/c');
  });

  it('finds the image id a location ends in', () => {
    expect(imageIdFromLocation('file:///var/lib/glance/images/6bb8')).toBe('6bb8');
    expect(imageIdFromLocation('rbd://fsid/images/6bb8/snap')).toBe('6bb8');
    expect(imageIdFromLocation('s3://a:b@host/bucket/6bb8')).toBe('6bb8');
  });
});
