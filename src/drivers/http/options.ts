/** The http store's options, as glance_store declares them (TLS verified by default here). */
import type { OptionSpec, OptionsOf } from '../../config/schema.js';

export const HTTP_OPTIONS = [
  {
    name: 'https_ca_certificates_file',
    type: 'string',
    help: 'Path to a CA bundle that verifies https servers. When set, https_insecure is ignored.',
    path: { kind: 'readable-file' },
  },
  {
    name: 'https_insecure',
    type: 'bool',
    default: false,
    help: "Skip verifying https servers' certificates. Defaults to false here: glance_store defaults to true, which accepts any certificate.",
  },
  {
    name: 'http_proxy_information',
    type: 'dict',
    default: {},
    help: 'Proxy to use per URL scheme, as `scheme:proxy_url` pairs, e.g. `http:http://10.0.0.1:3128, https:http://10.0.0.1:3128`.',
    sample: 'http:http://10.0.0.1:3128',
    check: {
      rule: 'pairs whose scheme is http or https and whose proxy is an http:// or https:// URL',
      problem: (value) => {
        for (const [scheme, proxy] of Object.entries(value as Record<string, string>)) {
          if (scheme !== 'http' && scheme !== 'https') return `scheme ${JSON.stringify(scheme)} must be http or https`;
          if (!/^https?:\/\//i.test(proxy) || !URL.canParse(proxy)) return `the proxy for ${scheme} is not an http:// or https:// URL`;
        }
        return undefined;
      },
    },
  },
] as const satisfies readonly OptionSpec[];

/** The options a http store's `create` receives. */
export type HttpStoreOptions = OptionsOf<typeof HTTP_OPTIONS>;
