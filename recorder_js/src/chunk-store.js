// What the recorder keeps, and where. No video outlives the page: the chunks the server has not
// acknowledged yet live in this page's memory only (`PageChunks`), and are gone with the page. A
// chunk leaves even that memory once the server has it, its clip was closed, or the session ended
// in any way (complete, failed, no_camera, withdrawn, declined). A reload or a crashed tab loses
// the chunks still unsent; the server keeps what arrived and finishes the clip with it (the
// resumed recorder asks it to, and the left rule does it without one: web/panel/presence.py).
//
// In the browser's IndexedDB, which outlives the page, only two things, neither of them video:
// withdrawals that did not reach the server (offline, server down), kept before the panelist is
// told anything and sent again until acknowledged (withdrawals.js); and the resume token of each
// respondent's session (one per integration and respondent id): the secret the server asks for
// before it resumes a session, which only this browser holds. Kept while the session can be
// resumed, dropped when it ends or is withdrawn, and after RESUME_MAX_AGE_MS in any case. Older
// recorders kept unsent chunks there too (up to 15 minutes): opening the database at version 4
// deletes that store, whatever it still holds.
//
// Every method resolves (never rejects): a browser without IndexedDB, a private window or a
// full quota only costs the resume and the kept withdrawals, not the recording. The first
// failure goes to `onError`.

const DB_NAME = "candor-recorder";
const DB_VERSION = 4;
const LEGACY_CHUNKS = "chunks"; // video kept by recorders before version 4: deleted on upgrade
const RESUME = "resume";
const WITHDRAWALS = "withdrawals";
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
          if (db.objectStoreNames.contains(LEGACY_CHUNKS)) db.deleteObjectStore(LEGACY_CHUNKS);
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

/** What a page load removes: stale resume tokens and withdrawals (no video is ever kept). */
export async function sweepStore(store, now) {
  await store.dropOlderThan(now - RESUME_MAX_AGE_MS, RESUME);
  await store.dropOlderThan(now - WITHDRAWAL_MAX_AGE_MS, WITHDRAWALS);
}

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = (error) => reject(error instanceof Error ? error : req.error);
  });
}

/**
 * The chunks not acknowledged yet, in this page's memory: gone with the page, never written to
 * the browser's storage. (session, ad, index) → {blob, mimeType}.
 */
class PageChunks {
  constructor() {
    this.rows = new Map();
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

  /** How many chunks this page holds, over all sessions (for tests). */
  async countChunks() {
    return this.rows.size;
  }

  /** This session's clips held by this page: [{adId, mimeType, chunks: Map(index → Blob)}]. */
  async load(session) {
    return groupByClip([...this.rows.values()].filter((row) => row.session === session));
  }
}

class IdbChunkStore extends PageChunks {
  constructor(db, onError, now) {
    super();
    this.db = db;
    this.onError = onError;
    this.now = now;
    this.failed = false;
  }

  /** One readwrite transaction; resolves when it commits (or failed, once reported). */
  write(work, name) {
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

  dropOlderThan(time, name) {
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
}

/** The same interface with nothing in the browser's storage: for browsers without IndexedDB
 * (no resume), and for tests, where `reloaded()` stands for the same browser after a reload: its
 * tokens and withdrawals are still there, the page's chunks are not. */
export class MemoryChunkStore extends PageChunks {
  constructor({ resumes = new Map(), withdrawals = new Map() } = {}) {
    super();
    this.resumes = resumes;
    this.withdrawals = withdrawals;
  }

  /** The same browser after a reload: what outlives a page, and no chunk. */
  reloaded() {
    return new MemoryChunkStore({ resumes: this.resumes, withdrawals: this.withdrawals });
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

  /** Tokens and withdrawals in memory have no age to sweep by. */
  async dropOlderThan() {}

  async saveResume(key, token, session) {
    this.resumes.set(key, { token, session });
  }

  async loadResume(key) {
    return this.resumes.get(key) || null;
  }

  async dropResume(key) {
    this.resumes.delete(key);
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
