/** The help texts of `glance-store`: the whole command, and each subcommand (`glance-store add --help`). */
import type { Command } from './args.js';
import { EXIT_CODES_HELP } from './exit-codes.js';

const COMMON = `Options of every command:
  --config FILE   glance-api.conf to use (or GLANCE_STORE_CONFIG); without one, a file
                  store named "local" keeps images in ./.glance-store/images
  --driver MODULE a module (path or package) exporting third-party drivers made with
                  defineDriver; repeat for several (a path starts with ./ or /)
  --json          machine-readable output on stdout; errors (and warnings) as JSON on stderr
  --quiet         no progress bar
  --debug         print stack traces of unexpected errors
  --help, -h      this help
  --version       the version`;

export const USAGE = `Usage: glance-store [--config FILE] [--driver MODULE]... [--json] [--quiet] [--debug] COMMAND [ARGS]

Commands:
  stores [--detail]                                 list the enabled stores (Glance's store info)
  add FILE|- [--store ID] [--id UUID] [--size N] [--inspect] [--expect FMT] [--report-unsafe]
                                                    add an image (- reads standard input)
  get URI|IMAGE_ID [-o FILE] [--offset N] [--length N] [--store ID]
                                                    read an image (or a range) to FILE or standard output
  size URI [--store ID]                             print an image's size in bytes
  delete URI [--store ID]                           delete an image
  copy URI --to ID [--id IMAGE_ID] [--from ID]      copy an image into another store
  inspect FILE|-|URI [--store ID]                   disk format, virtual size and safety of an image
  ls STORE [--leftovers]                            list the images a store holds (or what failed adds left)
  audit STORE --known FILE [--verify FILE] [--delete-orphans [--yes]] [--older-than DURATION]
                                                    compare a store with Glance's locations (docs/cli.md)
  check                                             validate the config and report every store's state
  config-reference                                  print the configuration reference (Markdown)

Run 'glance-store COMMAND --help' for one command's help.

${COMMON}

${EXIT_CODES_HELP}`;

const COMMAND_HELP: Record<Command, string> = {
  stores: `Usage: glance-store stores [--detail]

Lists the enabled stores as Glance's /v2/info/stores does: id, description, default,
read-only. --detail adds each store's type, weight and properties (never secrets).
Creates nothing: a datadir that does not exist yet is not made.`,
  add: `Usage: glance-store add FILE|- [--store ID] [--id UUID] [--size N]
                        [--inspect] [--expect FMT] [--report-unsafe]

Adds an image through the add pipeline and prints its location, size, md5 checksum and
multihash. - reads standard input.
  --store ID   the store to add to (the default backend when absent)
  --id UUID    the image id (a random UUID when absent)
  --size N     the declared size in bytes: the add fails if the data differs (a file's
               size is declared for it)
  --inspect    inspect the image as it streams in (docs/inspection.md): print its disk
               format, virtual size and safety; an unsafe image is refused (exit 9)
  --expect FMT refuse an image of any other disk format (exit 9); FMT is one of raw,
               qcow2, vmdk, vhd, vhdx, vdi, iso, qed, luks; repeat or list (qcow2,raw)
  --report-unsafe  store an unsafe image all the same, listing its problems
An interrupted add (Ctrl-C) leaves nothing in the store and exits 130.`,
  get: `Usage: glance-store get URI|IMAGE_ID [-o FILE] [--offset N] [--length N] [--store ID]

Reads an image (or a range of it) to FILE, or to standard output with -o - (or when
standard output is not a terminal: image data is never written to a terminal). An image
id instead of a URI is read from --store, where the id tells the location (file, rbd,
swift, s3; not cinder, whose volume ids are not image ids).
  -o, --output FILE  written under a temporary name, renamed once complete
  --offset N         first byte of a ranged read
  --length N         bytes from --offset (to the end when absent)
  --store ID         the store to ask (by default, resolved from the location)
A range that starts past the end is a usage error (exit 2). Interrupted: exit 130.`,
  size: `Usage: glance-store size URI [--store ID]

Prints the image's size in bytes ("unknown" when the backend does not tell it).`,
  delete: `Usage: glance-store delete URI [--store ID]

Deletes an image from the store that holds it (or from --store).`,
  copy: `Usage: glance-store copy URI --to ID [--id IMAGE_ID] [--from ID]

Copies an image into another store through the add pipeline (Glance's copy-image).
  --to ID        the target store
  --id IMAGE_ID  the image id in the target store (the location's last segment by default)
  --from ID      the store the location belongs to, when the URI does not tell`,
  inspect: `Usage: glance-store inspect FILE|-|URI [--store ID]

Inspects an image as an inspected add does (docs/inspection.md): its disk format, virtual
size, whether it is safe to hand to a hypervisor (no backing file, data file, flat
extent...) and why not. FILE is read once, to its end; - reads standard input; a location
URI is read from its store (or --store). Exits 9 when the image is not safe.`,
  ls: `Usage: glance-store ls STORE [--leftovers] [--json]

Lists the images a store holds, as it lists them: id, size and location (credentials
masked); with --json one object a line. Segments, snapshots, manifests, multipart parts,
claims and partial files are never images. --leftovers lists those an add left when its
process died (or that an add still running is writing), each with its kind and age.
A count is shown on standard error on a terminal. A listing that fails half-way has
printed what it listed, says how far it got, and exits non-zero. Creates nothing.`,
  audit: `Usage: glance-store audit STORE --known FILE [--verify FILE] [--json]
                          [--older-than DURATION] [--skip-bad-lines] [--delete-orphans [--yes]]

Compares what STORE holds with what Glance knows, and reports:
  orphan      in the store, not in --known (it takes space; no image points at it)
  missing     in --known, not in the store (a broken image)
  leftover    what an add left when its process died, with its age
  corrupt     with --verify, an image whose bytes no longer match its checksum/multihash
  other store a --known location of another store (not counted as missing)
  --known FILE         one location URI a line (Glance's image_locations.value; docs/cli.md)
  --verify FILE        LOCATION CHECKSUM MULTIHASH [HASH_ALGO] a line (sha512 by default):
                       each image of the store it names is read and hashed
  --older-than DUR     orphans and leftovers younger than DUR (90s, 30m, 12h, 7d, 2w) are
                       reported as recent, not as findings, and never deleted
  --skip-bad-lines     report malformed lines and go on (else the first one stops the audit)
  --delete-orphans     delete the orphans found: printed first, then asked on a terminal;
                       each deleted one is printed once deleted (Ctrl-C stops between two)
  --yes                delete without asking (needed when standard input is not a terminal)
Nothing else is ever deleted. Exits 0 when clean, 10 when anything was found, and the
listing's error code when it failed half-way (what it had found is printed).`,
  check: `Usage: glance-store check

Validates the config and reports every store's state: whether it started, with the
capabilities of its type (a file store whose datadir cannot be created is not ok), and
the warnings given at start. Exits 8 when a store is not ok. Creates nothing.`,
  'config-reference': `Usage: glance-store config-reference

Prints the configuration reference (Markdown) of the built-in drivers and those loaded
with --driver.`,
};

export function commandHelp(command: Command): string {
  return `${COMMAND_HELP[command]}\n\n${COMMON}\n\n${EXIT_CODES_HELP}`;
}
