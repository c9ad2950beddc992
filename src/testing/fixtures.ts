/** What a driver's test gives the conformance suite, and what its case groups share. */
import type { MultiStore, MultiStoreOptions } from '../multistore.js';
import type { TestApi } from './helpers.js';
import type { FaultAddress } from './fault-proxy.js';

/**
 * How to put the suite's fault proxy between a networked store and its
 * backend, so the suite can refuse, stall, cut and reset its connections.
 */
export interface FaultFixture {
  /** Where the backend listens (the address the store's config names): the proxy forwards there. Read when the fault cases start. */
  target: FaultAddress;
  /**
   * Builds a MultiStore like the fixture's `create`, but whose store reaches
   * its backend at `proxy` instead of `target` (the same config with the
   * proxy's host and port in the endpoint option).
   */
  create(proxy: FaultAddress, options: MultiStoreOptions): Promise<MultiStore>;
  /**
   * Bytes of the store's traffic through the proxy at which a fault strikes:
   * `add` counts what the driver sends from the start of an add of a large
   * image, `get` what it receives from the start of a get of one. The
   * defaults (a third of the image) fall in the image's bytes; a driver whose
   * data goes another way (cinder writes volumes over librbd, only its API
   * goes through the proxy) gives a point inside its API calls.
   */
  at?: { add?: number; get?: number };
  /**
   * Fault cases the driver is known to fail, each with the reason: they are
   * reported skipped with it, never passed. Keys: `add-refuse`, `add-cut`,
   * `add-reset`, `add-stall`, `get-refuse`, `get-cut`, `get-reset`,
   * `get-stall`, `get-stall-start`.
   */
  known?: Partial<Record<FaultCase, string>>;
}

/** The fault cases, as `FaultFixture.known` names them. */
export type FaultCase = 'add-refuse' | 'add-cut' | 'add-reset' | 'add-stall' | 'get-refuse' | 'get-cut' | 'get-reset' | 'get-stall' | 'get-stall-start';

export interface WritableFixture {
  /** Shown in test names. */
  name: string;
  /** Id of the store under test inside the MultiStore that `create` returns. */
  storeId: string;
  /**
   * Optional: a second store of the same driver in that MultiStore (another
   * datadir, bucket, container or chunk size), to copy images between. The
   * copy cases run only when it is given.
   */
  secondStoreId?: string;
  /**
   * Builds a MultiStore holding the store(s); the suite passes a size cap etc.
   * It is called several times: each call must give a new, independent instance.
   */
  create(options: MultiStoreOptions): Promise<MultiStore>;
  /**
   * Everything the backend holds for the store(s) (file names, objects, rbd
   * images, segments, pending multipart uploads...), so the suite can assert
   * that failures leave nothing behind. Order does not matter.
   */
  listStored(): Promise<string[]>;
  /** A size that crosses the driver's chunk, part or segment boundaries (default 9 MiB + 7). */
  largeImageBytes?: number;
  /** Per-test timeout in ms (default 60 s). */
  timeout?: number;
  /**
   * Streams an image of this many bytes, of unknown size, and checks that the
   * process grows by less than `maxGrowthBytes` meanwhile (default: 64 MiB
   * image, 32 MiB growth). Drivers that must buffer set what they hold in
   * flight (parts x part size) plus room for the runtime. Growth is what the
   * process still references after a full garbage collection at each quarter
   * of the image (so it does not depend on what ran before), and the
   * resident-set peak. `skip` (a reason) reports the case skipped, for a
   * driver that keeps images in memory by design.
   */
  streaming?: { imageBytes?: number; maxGrowthBytes?: number; skip?: string };
  /**
   * What the backend guarantees when adds of one image id overlap, from
   * separate store instances as separate Glance workers would run them.
   * `exclusive` (the default): exactly one add succeeds, the others fail with
   * Duplicate, the winner's bytes are intact and nothing else is left, for
   * single-object and chunked images alike. `unserialised`: the backend
   * checks for an existing object only when an upload starts and has no
   * conditional write (Swift, Swift's s3api), so overlapping adds may all
   * succeed; for an image stored as one object each add must succeed or fail
   * with Duplicate and the image left is one add's bytes, intact. Overlapping
   * adds of a segmented or multipart image are then not safe and not run:
   * say so in the driver's docs.
   */
  concurrentAdds?: 'exclusive' | 'unserialised';
  /** Optional, for a networked store: how to put the fault proxy in front of its backend (else the fault cases are skipped). */
  faults?: FaultFixture;
}

export interface ReadOnlyFixture {
  name: string;
  storeId: string;
  create(options: MultiStoreOptions): Promise<MultiStore>;
  /** Makes `bytes` readable through the store and returns its location. */
  seed(imageId: string, bytes: Buffer): Promise<string>;
  /**
   * Optional: like `seed`, but the backend does not tell the image's size
   * (an http server that sends no Content-Length). Cases for images of
   * unknown size run only when it is given.
   */
  seedOfUnknownSize?(imageId: string, bytes: Buffer): Promise<string>;
  /** Optional: a writable store in the same MultiStore to copy images into. */
  copyTarget?: string;
  /** A location of the store's scheme that holds nothing. */
  missingLocation(): string;
  timeout?: number;
  /**
   * Optional, for a networked store: how to put the fault proxy in front of
   * its backend (else the fault cases are skipped), and `seed` for a
   * location read through the proxy.
   */
  faults?: FaultFixture & { seed(imageId: string, bytes: Buffer, proxy: FaultAddress): Promise<string> };
}

/** What the case groups share inside one `runStoreConformance`. */
export interface SuiteContext {
  t: TestApi;
  fixture: WritableFixture;
  store: string;
  timeout: number;
  /** Bytes of an image that crosses the driver's chunk boundaries. */
  large: number;
  /** The size cap of `capped()`. */
  cap: number;
  /** A MultiStore without a size cap, for the whole suite. */
  ms(): MultiStore;
  /** A MultiStore whose image size cap is `cap`. */
  capped(): MultiStore;
  /** Runs a failing call and checks that the backend holds what it held before. */
  failsCleanly(run: () => Promise<unknown>, code: string): Promise<void>;
}
