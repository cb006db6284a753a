// One tab of a browser owns a respondent's session (issue 20, item 2).
//
// With Web Locks the browser itself keeps the hold and frees it when the tab closes or crashes.
// Browsers without them (Safari before 15.4, some embedded web views) get a heartbeat in
// localStorage, which every tab of the origin shares: the owner rewrites {owner, at} every
// HEARTBEAT_MS; another tab that finds a beat younger than STALE_MS is not the owner. A claim is
// written, then read back after CLAIM_SETTLE_MS: of two tabs claiming at once the last writer
// wins and the other sees it lost. The owner removes the entry when the session ends or the page
// goes away; a crashed owner's entry goes stale after STALE_MS.

export const HEARTBEAT_MS = 2000;
export const STALE_MS = 6000;
export const CLAIM_SETTLE_MS = 150;

/**
 * Hold `key` for this tab. Resolves to a release function, or null if another tab holds it.
 * Where neither Web Locks nor localStorage can be used, every tab may go on (nothing to share).
 *
 * @param {string} key
 * @param {{locks?: LockManager|null, localStorage?: Storage|null, wallNow: () => number,
 *   setTimeout: Function, clearTimeout: Function, setInterval?: Function,
 *   clearInterval?: Function, window?: Window|null, randomId: () => string}} env
 */
export function holdTab(key, env) {
  const name = `candor-recorder:${key}`;
  if (env.locks && typeof env.locks.request === "function") return holdByLock(name, env.locks);
  const storage = usableStorage(env);
  if (storage) return holdByHeartbeat(name, storage, env);
  return Promise.resolve(() => {});
}

function holdByLock(name, locks) {
  return new Promise((resolve) => {
    locks
      .request(name, { ifAvailable: true }, (lock) => {
        if (!lock) {
          resolve(null);
          return null;
        }
        return new Promise((release) => resolve(release));
      })
      .catch(() => resolve(() => {}));
  });
}

/** localStorage, if this page may use it (a blocked one throws on access). */
function usableStorage(env) {
  try {
    const storage = env.localStorage;
    if (!storage) return null;
    storage.getItem("candor-recorder:probe");
    return storage;
  } catch {
    return null;
  }
}

function read(storage, name) {
  try {
    const value = JSON.parse(storage.getItem(name) || "null");
    return value && typeof value.owner === "string" && Number.isFinite(value.at) ? value : null;
  } catch {
    return null;
  }
}

function write(storage, name, owner, now) {
  try {
    storage.setItem(name, JSON.stringify({ owner, at: now }));
    return true;
  } catch {
    return false; // full or refused: the hold cannot be shared, so it is not kept either
  }
}

function holdByHeartbeat(name, storage, env) {
  const me = env.randomId();
  const held = () => {
    const beat = read(storage, name);
    return beat && beat.owner !== me && env.wallNow() - beat.at < STALE_MS;
  };
  if (held()) return Promise.resolve(null);
  if (!write(storage, name, me, env.wallNow())) return Promise.resolve(() => {});
  return new Promise((resolve) => {
    env.setTimeout(() => {
      const beat = read(storage, name);
      if (beat && beat.owner !== me) {
        resolve(null); // another tab claimed at the same moment, and wrote last
        return;
      }
      let timer = null;
      const beatOn = () => {
        write(storage, name, me, env.wallNow());
        timer = env.setTimeout(beatOn, HEARTBEAT_MS);
      };
      beatOn();
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        env.clearTimeout(timer);
        const beatNow = read(storage, name);
        try {
          if (beatNow && beatNow.owner === me) storage.removeItem(name);
        } catch {
          // Nothing to do: the entry goes stale by itself.
        }
      };
      // A page going away (closed, reloaded) frees it at once, as the browser frees a lock.
      const win = env.window;
      if (win && typeof win.addEventListener === "function") {
        win.addEventListener("pagehide", (event) => {
          if (!event.persisted) release();
        });
      }
      resolve(release);
    }, CLAIM_SETTLE_MS);
  });
}
