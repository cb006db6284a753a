// Chunks the server has not acknowledged yet, kept in the browser's IndexedDB (the way Uppy's
// Golden Retriever keeps files), so a reload or a crashed tab resumes the upload instead of
// losing it. A chunk is deleted here once the server has it, its clip was closed, or the
// panelist withdrew; anything older than MAX_AGE_MS is deleted at the next start, since the
// server has deleted its clip by then (clip_ttl_seconds).
//
// Next to them, the resume token of each respondent's session (one per integration and
// respondent id): the secret the server asks for before it resumes a session, which only this
// browser holds. Kept while the session can be resumed, dropped when it ends or is withdrawn,
// and after RESUME_MAX_AGE_MS in any case.
//
// Every method resolves (never rejects): a browser without IndexedDB, a private window or a
// full quota only costs the resume, not the recording. The first failure goes to `onError`.

const DB_NAME = "candor-recorder";
const DB_VERSION = 2;
const STORE = "chunks";
const RESUME = "resume";
const MAX_AGE_MS = 60 * 60 * 1000;
const RESUME_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** The store for this browser: IndexedDB when it opens, else one in memory (no resume). */
export async function openChunkStore(indexedDB, { onError = () => {}, now = Date.now } = {}) {
  if (!indexedDB) return new MemoryChunkStore();
  try {
    const db = await request(
      Object.assign(indexedDB.open(DB_NAME, DB_VERSION), {
        // A tab still open on an older recorder holds the database: go on without it rather
        // than wait for that tab to close.
        onblocked: (event) => event.target.onerror(new Error("IndexedDB is held by another tab")),
        onupgradeneeded: (event) => {
          const db = event.target.result;
          if (event.oldVersion < 1) {
            const store = db.createObjectStore(STORE, { keyPath: ["session", "ad", "index"] });
            store.createIndex("savedAt", "savedAt");
          }
          if (event.oldVersion < 2) {
            db.createObjectStore(RESUME, { keyPath: "key" }).createIndex("savedAt", "savedAt");
          }
        },
      }),
    );
    db.onversionchange = () => db.close(); // a newer recorder in another tab may upgrade it
    const store = new IdbChunkStore(db, onError, now);
    await store.dropOlderThan(now() - MAX_AGE_MS);
    await store.dropOlderThan(now() - RESUME_MAX_AGE_MS, RESUME);
    return store;
  } catch (error) {
    onError(error);
    return new MemoryChunkStore();
  }
}

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = (error) => reject(error instanceof Error ? error : req.error);
  });
}

class IdbChunkStore {
  constructor(db, onError, now) {
    this.db = db;
    this.onError = onError;
    this.now = now;
    this.failed = false;
    this.persistent = true;
  }

  /** One readwrite transaction; resolves when it commits (or failed, once reported). */
  write(work, name = STORE) {
    return new Promise((resolve) => {
      let tx;
      try {
        tx = this.db.transaction(name, "readwrite");
        work(tx.objectStore(name));
      } catch (error) {
        this.report(error);
        resolve();
        return;
      }
      tx.oncomplete = () => resolve();
      tx.onerror = tx.onabort = () => {
        this.report(tx.error);
        resolve();
      };
    });
  }

  report(error) {
    if (this.failed) return;
    this.failed = true;
    this.onError(error || new Error("IndexedDB failed"));
  }

  save(session, ad, index, blob, mimeType) {
    return this.write((store) =>
      store.put({ session, ad, index, blob, mimeType, savedAt: this.now() }),
    );
  }

  drop(session, ad, index) {
    return this.write((store) => store.delete([session, ad, index]));
  }

  dropClip(session, ad) {
    return this.write((store) =>
      store.delete(IDBKeyRange.bound([session, ad, 0], [session, ad, Infinity])),
    );
  }

  dropSession(session) {
    return this.write((store) =>
      store.delete(IDBKeyRange.bound([session, -Infinity, 0], [session, Infinity, Infinity])),
    );
  }

  dropOlderThan(time, name = STORE) {
    return this.write((store) => {
      const cursor = store.index("savedAt").openCursor(IDBKeyRange.upperBound(time));
      cursor.onsuccess = () => {
        const at = cursor.result;
        if (!at) return;
        at.delete();
        at.continue();
      };
    }, name);
  }

  /** Keep a respondent's resume token (and which session it resumes) under `key`. */
  saveResume(key, token, session) {
    return this.write((store) => store.put({ key, token, session, savedAt: this.now() }), RESUME);
  }

  /** {token, session} kept under `key`, or null. */
  async loadResume(key) {
    try {
      const tx = this.db.transaction(RESUME, "readonly");
      const row = await request(tx.objectStore(RESUME).get(key));
      return row ? { token: row.token, session: row.session } : null;
    } catch (error) {
      this.report(error);
      return null;
    }
  }

  dropResume(key) {
    return this.write((store) => store.delete(key), RESUME);
  }

  /** This session's saved clips: [{adId, mimeType, chunks: Map(index → Blob)}]. */
  async load(session) {
    try {
      const tx = this.db.transaction(STORE, "readonly");
      const range = IDBKeyRange.bound([session, -Infinity, 0], [session, Infinity, Infinity]);
      const rows = await request(tx.objectStore(STORE).getAll(range));
      return groupByClip(rows);
    } catch (error) {
      this.report(error);
      return [];
    }
  }
}

/** The same interface in memory: for browsers without IndexedDB, and for tests (a shared one
 * stands for the browser's storage across a reload). */
export class MemoryChunkStore {
  constructor() {
    this.rows = new Map();
    this.resumes = new Map();
    this.persistent = false;
  }

  async saveResume(key, token, session) {
    this.resumes.set(key, { token, session });
  }

  async loadResume(key) {
    return this.resumes.get(key) || null;
  }

  async dropResume(key) {
    this.resumes.delete(key);
  }

  key(session, ad, index) {
    return `${session}|${ad}|${index}`;
  }

  async save(session, ad, index, blob, mimeType) {
    this.rows.set(this.key(session, ad, index), { session, ad, index, blob, mimeType });
  }

  async drop(session, ad, index) {
    this.rows.delete(this.key(session, ad, index));
  }

  async dropClip(session, ad) {
    for (const [key, row] of this.rows) {
      if (row.session === session && row.ad === ad) this.rows.delete(key);
    }
  }

  async dropSession(session) {
    for (const [key, row] of this.rows) if (row.session === session) this.rows.delete(key);
  }

  async load(session) {
    return groupByClip([...this.rows.values()].filter((row) => row.session === session));
  }
}

function groupByClip(rows) {
  const clips = new Map();
  for (const row of rows) {
    if (!clips.has(row.ad)) clips.set(row.ad, { adId: row.ad, mimeType: row.mimeType, chunks: new Map() });
    clips.get(row.ad).chunks.set(row.index, row.blob);
  }
  return [...clips.values()];
}
