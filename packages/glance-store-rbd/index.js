// Loads the librbd binding that the install script built with node-gyp. One
// build serves every supported Node: it uses N-API 8 only (see package.json).
import { createRequire } from 'node:module';

const FILE = './build/Release/glance_store_rbd.node';
const HOW = 'install Debian\'s librbd-dev, librados-dev and a C++ toolchain (apt-get install librbd-dev librados-dev g++ make python3), then run `npm rebuild glance-store-rbd`';

function load() {
  try {
    return createRequire(import.meta.url)(FILE);
  } catch (err) {
    const notBuilt = err?.code === 'MODULE_NOT_FOUND';
    const error = new Error(
      notBuilt
        ? `glance-store-rbd is installed but its librbd binding was not built: ${HOW}`
        : `glance-store-rbd could not load its librbd binding (${err?.message}): ${HOW}`,
      { cause: err },
    );
    error.code = notBuilt ? 'ERR_GLANCE_STORE_RBD_NOT_BUILT' : 'ERR_GLANCE_STORE_RBD_LOAD_FAILED';
    throw error;
  }
}

const binding = load();
export default binding;
