/**
 * TLS of a networked store, read once at start-up from the store's own
 * options (each driver keeps glance_store's option names): a CA bundle that
 * verifies servers, skipping verification, and a client certificate with its
 * key. One reading gives undici's connect options, an https.Agent for the AWS
 * SDK, and the hint a verification failure names.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';

/** The values of a store's TLS options (paths of PEM files). */
export interface TlsValues {
  caFile?: string | undefined;
  insecure?: boolean | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
}

/** The names of those options in the store's section, for problems and hints. */
export interface TlsOptionNames {
  caFile: string;
  insecure?: string;
  certFile?: string;
  keyFile?: string;
}

/** What undici's `Agent({ connect })` and `ProxyAgent({ requestTls })` take. */
export interface TlsConnectOptions {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
}

export class TlsSettings {
  /** @internal use readTls */
  constructor(
    private readonly pem: { ca?: string; cert?: string; key?: string },
    /** Whether servers' certificates are verified. */
    readonly verified: boolean,
    /** What a TLS verification failure tells the operator: the option that makes the server trusted. */
    readonly hint: string,
  ) {}

  /** undici's connect options (`new Agent({ connect: { ...tls.connect, timeout } })`). */
  get connect(): TlsConnectOptions {
    return { ...this.pem, rejectUnauthorized: this.verified };
  }

  /** An https.Agent for clients built on Node's https (the AWS SDK's request handler). */
  httpsAgent(options: https.AgentOptions = {}): https.Agent {
    return new https.Agent({ ...options, ...this.connect });
  }
}

/**
 * Reads a store's TLS options. A file that cannot be read, or a certificate
 * without its key, is a problem for the store's BadStoreConfiguration error
 * (returned, so that it lists every problem of the store at once). A CA
 * bundle means verification, whatever the insecure flag says (glance_store's
 * http store; the drivers here all keep that rule).
 */
export function readTls(values: TlsValues, names: TlsOptionNames): { tls: TlsSettings; problems: string[] } {
  const problems: string[] = [];
  const read = (file: string | undefined, option: string | undefined): string | undefined => {
    if (!file) return undefined;
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      problems.push(`${option} ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      return undefined;
    }
  };
  const ca = read(values.caFile, names.caFile);
  const cert = read(values.certFile, names.certFile);
  const key = read(values.keyFile, names.keyFile);
  if (Boolean(values.certFile) !== Boolean(values.keyFile)) {
    problems.push(`${names.certFile ?? 'a client certificate'} and ${names.keyFile ?? 'its key'} must be set together`);
  }
  const verified = values.caFile !== undefined && values.caFile !== '' ? true : !values.insecure;
  const pem = { ...(ca !== undefined ? { ca } : {}), ...(cert !== undefined && key !== undefined ? { cert, key } : {}) };
  return { tls: new TlsSettings(pem, verified, `set ${names.caFile} to trust the server's CA`), problems };
}
