// One ad: play it without seeking, record the camera only while it plays, log playback events.
//
// Recording is tied to playback: MediaRecorder starts on the video's first `playing`, pauses on
// `waiting` (a stall) or an unexpected pause, resumes on the next `playing`, and stops on
// `ended`. The camera stays on during a stall (stopping its track would end the recording), and
// is switched off as soon as the recording stops. clip_ms counts recorded time only, so it is a
// position in the recorded video; ad_ms is the ad's currentTime.

const SEEK_TOLERANCE_S = 0.5; // currentTime jumps smaller than this are playback, not a seek
// A camera that is gone does not always say so: Chromium fires no `ended` when a track is
// stopped by a script or a driver, the MediaRecorder just goes inactive or falls silent. So the
// run checks, once per chunk, that the track is live, the recorder records and data comes.
const SILENT_CHUNKS = 4; // this many chunk periods with no data while recording: camera lost

export class AdRun {
  /**
   * @param {object} o
   * @param {HTMLVideoElement} o.video
   * @param {object} o.ad  {id, video_url, duration_s}
   * @param {MediaStream} o.stream
   * @param {Function} o.MediaRecorder
   * @param {object} o.recorderOptions  {mimeType, videoBitsPerSecond}
   * @param {number} o.chunkMs
   * @param {import("./uploader.js").ClipUpload} o.upload
   * @param {Document|null} o.document  for tab hidden/visible events
   * @param {Function} o.now
   * @param {Function} o.onRecording  (boolean) the camera is being recorded, or not
   * @param {Function} [o.setTimeout]  for the camera watch (none: no watch)
   * @param {Function} [o.clearTimeout]
   */
  constructor({
    video,
    ad,
    stream,
    MediaRecorder,
    recorderOptions,
    chunkMs,
    upload,
    document,
    now,
    onRecording,
    setTimeout: setTimer = null,
    clearTimeout: clearTimer = null,
  }) {
    this.video = video;
    this.ad = ad;
    this.stream = stream;
    this.chunkMs = chunkMs;
    this.upload = upload;
    this.document = document;
    this.now = now;
    this.onRecording = onRecording || (() => {});
    this.listeners = new AbortController();
    this.recordedMs = 0;
    this.activeSince = null;
    this.lastTime = 0;
    this.stopped = false;
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
    this.watchTimer = null;
    this.lastDataAt = null;
    this.mediaRecorder = new MediaRecorder(stream, recorderOptions);
    this.mediaRecorder.addEventListener("dataavailable", (event) => {
      if (event.data && event.data.size) this.lastDataAt = this.now();
      if (!this.stopped || this.finishing) this.upload.add(event.data);
    });
    // A stop nobody asked for: the track under it ended (its last chunk came just before).
    this.mediaRecorder.addEventListener("stop", () => {
      if (!this.stopped) this.fail(cameraLost());
    });
    // The recorder itself failed (encoder error, track trouble): this ad cannot be recorded.
    this.mediaRecorder.addEventListener("error", (event) => {
      this.fail(event.error || new Error("the recording failed"));
    });
    this.result = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  clipMs() {
    return this.recordedMs + (this.activeSince === null ? 0 : this.now() - this.activeSince);
  }

  adMs() {
    return (this.video.currentTime || 0) * 1000;
  }

  event(kind) {
    this.upload.addEvent(kind, this.clipMs(), this.adMs());
  }

  /** Start playing; resolves {ended: true} at the end, rejects if play() is refused. */
  start() {
    const { video } = this;
    const on = (type, fn) => video.addEventListener(type, fn, { signal: this.listeners.signal });
    video.controls = false;
    video.disablePictureInPicture = true;
    video.playsInline = true;
    on("playing", () => this.onPlaying());
    on("waiting", () => this.onStall());
    on("pause", () => {
      if (!video.ended) this.onStall();
    });
    on("timeupdate", () => {
      if (!video.seeking) this.lastTime = video.currentTime;
    });
    on("seeking", () => {
      // No seeking: put the playhead back where playback had brought it.
      if (Math.abs(video.currentTime - this.lastTime) > SEEK_TOLERANCE_S) {
        video.currentTime = this.lastTime;
      }
    });
    on("ended", () => this.onEnded());
    on("error", () => this.fail(new Error(`the ad could not be played (${this.ad.video_url})`)));
    if (this.document) {
      this.document.addEventListener(
        "visibilitychange",
        () => {
          if (this.mediaRecorder.state !== "inactive" && !this.stopped) {
            this.event(this.document.visibilityState === "hidden" ? "hidden" : "visible");
          }
        },
        { signal: this.listeners.signal },
      );
    }
    for (const track of this.stream.getTracks()) {
      track.addEventListener("ended", () => this.fail(cameraLost()), {
        signal: this.listeners.signal,
      });
    }
    video.src = this.ad.video_url;
    const played = video.play();
    if (played && typeof played.catch === "function") {
      played.catch((error) => this.fail(error));
    }
    return this.result;
  }

  onPlaying() {
    if (this.stopped) return;
    const state = this.mediaRecorder.state;
    if (state === "inactive") {
      this.mediaRecorder.start(this.chunkMs);
      this.activeSince = this.now();
      this.event("start");
      this.onRecording(true);
      this.watch();
    } else if (state === "paused") {
      this.mediaRecorder.resume();
      this.activeSince = this.now();
      this.event("resume");
    }
  }

  /** Once per chunk period while the ad runs: is the camera still there? */
  watch() {
    if (!this.setTimer || this.stopped) return;
    this.watchTimer = this.setTimer(() => {
      this.watchTimer = null;
      if (this.stopped) return;
      if (this.cameraGone()) {
        this.fail(cameraLost());
        return;
      }
      this.watch();
    }, this.chunkMs);
  }

  cameraGone() {
    const tracks = this.stream.getTracks();
    if (tracks.length && tracks.every((track) => track.readyState === "ended")) return true;
    const state = this.mediaRecorder.state;
    if (state === "inactive") return true; // it was started, and we did not stop it
    if (state !== "recording") return false; // paused for a stall: no data is expected
    const since = Math.max(this.lastDataAt ?? -Infinity, this.activeSince ?? -Infinity);
    return this.now() - since > SILENT_CHUNKS * this.chunkMs;
  }

  onStall() {
    if (this.stopped || this.mediaRecorder.state !== "recording") return;
    this.mediaRecorder.pause();
    this.recordedMs = this.clipMs();
    this.activeSince = null;
    this.event("stall");
  }

  onEnded() {
    if (this.stopped) return;
    if (this.mediaRecorder.state === "inactive") {
      // Ended without ever playing (a zero-length ad): nothing was recorded.
      this.finish({ ended: true });
      return;
    }
    this.recordedMs = this.clipMs();
    this.activeSince = null;
    this.upload.addEvent(
      "end",
      this.recordedMs,
      (this.video.duration || this.video.currentTime) * 1000,
    );
    this.finish({ ended: true });
  }

  /** Stop recording, keep the last chunk, switch the camera off, then settle. */
  finish(outcome, error) {
    if (this.stopped) return;
    this.stopped = true;
    this.finishing = true;
    this.listeners.abort();
    this.unwatch();
    const settle = () => {
      this.finishing = false;
      stopTracks(this.stream);
      this.onRecording(false);
      if (error) this.reject(error);
      else this.resolve(outcome);
    };
    if (this.mediaRecorder.state === "inactive") {
      settle();
      return;
    }
    // The final chunk arrives in `dataavailable` just before `stop`.
    this.mediaRecorder.addEventListener("stop", settle, { once: true });
    this.mediaRecorder.stop();
  }

  fail(error) {
    this.finish(null, error);
  }

  unwatch() {
    if (this.watchTimer !== null && this.clearTimer) this.clearTimer(this.watchTimer);
    this.watchTimer = null;
  }

  /** Withdrawal: everything stops now, nothing more is queued. */
  kill() {
    this.stopped = true;
    this.finishing = false;
    this.listeners.abort();
    this.unwatch();
    stopTracks(this.stream);
    try {
      if (this.mediaRecorder.state !== "inactive") this.mediaRecorder.stop();
    } catch {
      // Already stopped.
    }
    this.video.pause();
    this.video.removeAttribute("src");
    this.onRecording(false);
    this.resolve({ killed: true });
  }
}

function stopTracks(stream) {
  for (const track of stream.getTracks()) track.stop();
}

function cameraLost() {
  const error = new Error("the camera stopped during the ad");
  error.name = "CameraLostError";
  return error;
}
