// FaceRecorder: MediaRecorder's shape over the face reader. Frames are stamped with recorded
// time (paused time does not count), read one at a time, and handed over as Blobs of records.

import assert from "node:assert/strict";
import { test } from "node:test";

import { FaceRecorder } from "../src/ondevice/analyser.js";
import { MIME_TYPE, RECORD_BYTES, encodeRecord, readRecord } from "../src/ondevice/records.js";
import { FakeClock } from "./fakes.js";

function setup({ costMs = 10 } = {}) {
  const clock = new FakeClock();
  const reads = [];
  const analyser = {
    fps: 15,
    analyse(bitmap, t) {
      reads.push(t);
      return new Promise((resolve) =>
        clock.setTimeout(
          () => resolve({ record: encodeRecord({ t, faces: 1, brightness: 100 }), ms: costMs }),
          costMs,
        ),
      );
    },
  };
  const video = { videoWidth: 640, play: () => Promise.resolve() };
  const document = { createElement: () => video };
  const recorder = new FaceRecorder(
    { getTracks: () => [] },
    {
      analyser,
      now: clock.now,
      setTimer: clock.setTimeout,
      clearTimer: clock.clearTimeout,
      document,
      grab: async () => ({ close() {} }),
    },
  );
  const blobs = [];
  recorder.addEventListener("dataavailable", (event) => blobs.push(event.data));
  return { clock, recorder, reads, blobs };
}

async function advance(clock, ms) {
  const end = clock.t + ms;
  while (clock.t < end) {
    clock.t += 1;
    for (const timer of clock.timers.filter((x) => x.at <= clock.t)) {
      clock.timers = clock.timers.filter((x) => x !== timer);
      timer.fn();
    }
    await clock.flush();
  }
}

test("frames are stamped with recorded time; a pause does not count", async () => {
  const { clock, recorder, reads, blobs } = setup();
  recorder.start(1000);
  await advance(clock, 1000);
  recorder.pause();
  await advance(clock, 2000); // stalled: nothing read, no time recorded
  const during = reads.length;
  await advance(clock, 0);
  recorder.resume();
  await advance(clock, 1000);
  let stopped = false;
  recorder.addEventListener("stop", () => {
    stopped = true;
  });
  await recorder.stop();
  assert.ok(stopped);
  assert.ok(reads.length >= 28 && reads.length <= 32, `${reads.length} frames in 2 s`);
  assert.ok(
    reads.every((t, i) => i === 0 || t > reads[i - 1]),
    "times rise",
  );
  assert.ok(reads[reads.length - 1] <= 2.0 + 1e-9, "no stalled time in the stamps");
  assert.ok(during <= 16);
  const bytes = blobs.reduce((sum, blob) => sum + blob.size, 0);
  assert.equal(bytes, reads.length * RECORD_BYTES, "every frame read is handed over once");
  assert.ok(blobs.every((blob) => blob.type === MIME_TYPE));
  const first = new DataView(await blobs[0].arrayBuffer());
  assert.equal(readRecord(first, 0).t, Math.fround(reads[0]));
});

test("a slow reader is never asked for two frames at once; the rate is what it manages", async () => {
  const { clock, recorder, reads } = setup({ costMs: 100 });
  let inFlight = 0;
  let most = 0;
  const analyse = recorder.analyser.analyse.bind(recorder.analyser);
  recorder.analyser.analyse = (bitmap, t) => {
    inFlight += 1;
    most = Math.max(most, inFlight);
    return analyse(bitmap, t).finally(() => {
      inFlight -= 1;
    });
  };
  recorder.start(1000);
  await advance(clock, 2000);
  const stopping = recorder.stop(); // waits for the frame in hand
  await advance(clock, 200);
  await stopping;
  assert.equal(most, 1);
  assert.ok(reads.length >= 17 && reads.length <= 21, `${reads.length} frames at 100 ms each`);
  assert.ok(recorder.skipped > 0, "frames it could not read are counted");
});
