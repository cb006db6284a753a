// Chunks the server has not acknowledged yet, kept in the browser's IndexedDB (the way Uppy's
// Golden Retriever keeps files), so a reload or a crashed tab resumes the upload instead of
// losing it. A chunk is deleted here once the server has it, its clip was closed, or the
// session ended in any way (complete, failed, no_camera, withdrawn, declined); anything older
// than MAX_AGE_MS is deleted whenever a page that loads the recorder opens on this origin
// (sweepBrowserStorage), recorder started or not: by then the server has finished the clip
// from what it had (session_idle_seconds, 15 min), so the rest could go nowhere anyway. A tab
// closed offline or with a chunk in flight therefore leaves video on this device for at most
// MAX_AGE_MS, and only until a Candor page is opened again; the consent screen says so.
//
// Withdrawals that did not reach the server (offline, server down) are kept here too, before
// the panelist is told anything, and sent again until acknowledged (withdrawals.js).
//
// Next to them, the resume token of each respondent's session (one per integration and
// respondent id): the secret the server asks for before it resumes a session, which only this
// browser holds. Kept while the session can be resumed, dropped when it ends or is withdrawn,
// and after RESUME_MAX_AGE_MS in any case.
//
// Every method resolves (never rejects): a browser without IndexedDB, a private window or a
// full quota only costs the resume, not the recording. The first failure goes to `onError`.

const DB_NAME = "candor-recorder";
const DB_VERSION = 3;
const STORE = "chunks";
const RESUME = "resume";
const WITHDRAWALS = "withdrawals";
/** How long unsent video may stay in this browser: the server's idle close (15 min). */
export const MAX_AGE_MS = 15 * 60 * 1000;
const RESUME_MAX_AGE_MS = 24 * 60 * 60 * 1000;
// A withdrawal is sent again for this long; its token expires after 4 h, then the receipt
// code erases (POST /erase), which works for as long as the server keeps the session.
const WITHDRAWAL_MAX_AGE_MS = 30 * 24 * 60 * 60 * 1000;

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
          if (event.oldVersion < 3) {
            const store = db.createObjectStore(WITHDRAWALS, { keyPath: "session" });
            store.createIndex("savedAt", "savedAt");
          }
        },
      }),
    );
    db.onversionchange = () => db.close(); // a newer recorder in another tab may upgrade it
    const store = new IdbChunkStore(db, onError, now);
    await sweepStore(store, now());
    return store;
  } catch (error) {
    onError(error);
    return new MemoryChunkStore();
  }
}

/** What a page load removes: chunks older than MAX_AGE_MS, stale tokens and withdrawals. */
export async function sweepStore(store, now) {
  await store.dropOlderThan(now - MAX_AGE_MS);
  await store.dropOlderThan(now - RESUME_MAX_AGE_MS, RESUME);
  await store.dropOlderThan(now - WITHDRAWAL_MAX_AGE_MS, WITHDRAWALS);
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

  /** Keep a withdrawal until the server acknowledges it: {session, baseUrl, token, receipt}. */
  saveWithdrawal(record) {
    return this.write((store) => store.put({ ...record, savedAt: this.now() }), WITHDRAWALS);
  }

  dropWithdrawal(session) {
    return this.write((store) => store.delete(session), WITHDRAWALS);
  }

  /** Every withdrawal not acknowledged yet, oldest first. */
  async loadWithdrawals() {
    try {
      const tx = this.db.transaction(WITHDRAWALS, "readonly");
      const rows = await request(tx.objectStore(WITHDRAWALS).index("savedAt").getAll());
      return rows.map(({ savedAt, ...record }) => record);
    } catch (error) {
      this.report(error);
      return [];
    }
  }

  /** How many chunks are kept, over all sessions (for tests and the sweep's report). */
  async countChunks() {
    try {
      const tx = this.db.transaction(STORE, "readonly");
      return await request(tx.objectStore(STORE).count());
    } catch (error) {
      this.report(error);
      return 0;
    }
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
  constructor({ now = Date.now } = {}) {
    this.rows = new Map();
    this.resumes = new Map();
    this.withdrawals = new Map();
    this.persistent = false;
    this.now = now;
  }

  async saveWithdrawal(record) {
    this.withdrawals.set(record.session, { ...record });
  }

  async dropWithdrawal(session) {
    this.withdrawals.delete(session);
  }

  async loadWithdrawals() {
    return [...this.withdrawals.values()].map((record) => ({ ...record }));
  }

  async countChunks() {
    return this.rows.size;
  }

  /** Like a page load's sweep: chunks saved before `time` go (tokens and withdrawals stay). */
  async dropOlderThan(time, name = STORE) {
    if (name !== STORE) return;
    for (const [key, row] of this.rows) if (row.savedAt <= time) this.rows.delete(key);
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
    const savedAt = this.now();
    this.rows.set(this.key(session, ad, index), { session, ad, index, blob, mimeType, savedAt });
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
