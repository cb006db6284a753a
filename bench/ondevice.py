"""Benchmark on-device mode in headless Chromium (issue 22): the face reader (FaceLandmarker in a
Web Worker, SIMD WebAssembly) on a fake webcam playing a real face, at the analysis rate.

    .venv/bin/python bench/ondevice.py [--seconds 20] [--fps 15] [--y4m path]

Serves the recorder's modules and the pinned assets from a local server with the recorder page's
CSP, opens a page that runs `OnDeviceAnalyser` + `FaceRecorder` exactly as a session does, and
prints: model load time, time from "consent" (page asks for the reader) to the first record,
frames read per second and skipped, median ms per frame in the worker, Chromium's CPU share
(all its processes, from /proc, over the recording) and bytes per second of records, plus the
first-visit download size (raw and gzip). The bare baseline, in the same browser and run: server
mode's recorder (MediaRecorder on the same camera at the recorder's bitrate, no model), with the
ratios of CPU share and bytes per second to it. No figure is asserted: the machine is shared; the
load average is printed with them.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.ondevice_page import CONFIG, serve  # noqa: E402
from web.ondevice import ASSETS, asset_bytes  # noqa: E402

CHROMIUM = os.environ.get("CANDOR_CHROMIUM", "/usr/bin/chromium")

BENCH_JS = """
import { OnDeviceAnalyser, FaceRecorder } from "/recorder/ondevice/analyser.js";
window.run = async (seconds, fps) => {
  const consentAt = performance.now();
  const analyser = new OnDeviceAnalyser({ baseUrl: "", config: { ...%(config)s, fps } });
  const loading = analyser.load();
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
  await loading;
  const loadedAt = performance.now();
  const recorder = new FaceRecorder(stream, { analyser, now: () => performance.now(),
    setTimer: (f, ms) => setTimeout(f, ms), clearTimer: (id) => clearTimeout(id), document });
  let bytes = 0, firstAt = null, chunks = 0;
  recorder.addEventListener("dataavailable", (e) => { bytes += e.data.size; chunks += 1;
    if (firstAt === null) firstAt = performance.now(); });
  await new Promise((r) => setTimeout(r, 500));
  const started = performance.now();
  recorder.start(1000);
  let firstRecordAt = null;
  const poll = setInterval(() => { if (firstRecordAt === null && analyser.frameMs.length)
    firstRecordAt = performance.now(); }, 5);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await recorder.stop();
  clearInterval(poll);
  const elapsed = (performance.now() - started) / 1000;
  const costs = [...analyser.frameMs].sort((a, b) => a - b);
  stream.getTracks().forEach((t) => t.stop());
  return { loadMs: analyser.loadMs, consentToReadyMs: loadedAt - consentAt,
    consentToFirstRecordMs: firstRecordAt - consentAt, seconds: elapsed,
    framesRead: analyser.nextId - 1, skipped: recorder.skipped,
    fpsRead: (analyser.nextId - 1) / elapsed, frameMsMedian: costs[costs.length >> 1],
    frameMsP90: costs[Math.floor(costs.length * 0.9)], bytes, bytesPerSecond: bytes / elapsed,
    chunks };
};
// The bare baseline, in the same browser and run: server mode's recorder, the same camera
// recorded by MediaRecorder at the recorder's bitrate (recorder_js/src/options.js), no model.
window.baseline = async (seconds, bitsPerSecond) => {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
  const type = ["video/webm;codecs=vp8", "video/webm"]
    .find((t) => MediaRecorder.isTypeSupported(t));
  const recorder = new MediaRecorder(stream, { mimeType: type, videoBitsPerSecond: bitsPerSecond });
  let bytes = 0;
  recorder.ondataavailable = (e) => { bytes += e.data.size; };
  const started = performance.now();
  const stopped = new Promise((r) => { recorder.onstop = r; });
  recorder.start(1000);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  recorder.stop();
  await stopped;
  stream.getTracks().forEach((t) => t.stop());
  const elapsed = (performance.now() - started) / 1000;
  return { seconds: elapsed, bytes, bytesPerSecond: bytes / elapsed, mimeType: type };
};
"""
# recorder_js/src/options.js videoBitsPerSecond: what server mode records at.
VIDEO_BITS_PER_SECOND = 1_000_000


def chromium_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and all its descendants (Chromium's renderer, GPU, utility)."""
    ticks = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ppid = int(fields[1])
        children.setdefault(ppid, []).append(int(entry.name))
        stats[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += stats.get(current, 0.0)
        todo += children.get(current, [])
    return total


def make_y4m(seconds: float, fps: int) -> Path:
    import cv2

    from tests.worker.analysis import real_faces as rf
    from worker.analysis.decode import VideoReader

    path = Path(tempfile.mkdtemp()) / "face.y4m"
    with VideoReader(rf.media_path("franck.mp4")) as reader, open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W640 H480 F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in reader.frames(fps):
            if frame.t >= seconds:
                break
            rgb = cv2.resize(frame.rgb, (640, 480), interpolation=cv2.INTER_AREA)
            out.write(b"FRAME\n" + cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--y4m", type=Path, default=None)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    y4m = args.y4m or make_y4m(10, 15)
    server = serve(BENCH_JS % {"config": json.dumps(CONFIG)})
    base = server.base_url
    download = {name: asset_bytes(name) for name in ASSETS}
    raw = sum(len(data) for data in download.values())
    gzipped = sum(len(gzip.compress(data, 6)) for data in download.values())
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={y4m}",
            ],
        )
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(base + "/")
        page.wait_for_function("() => typeof window.run === 'function'")
        pid = browser_pid()
        cpu_before, wall_before = chromium_cpu_seconds(pid), time.monotonic()
        figures = page.evaluate(f"() => window.run({args.seconds}, {args.fps})")
        cpu = chromium_cpu_seconds(pid) - cpu_before
        wall = time.monotonic() - wall_before
        cpu_before, wall_before = chromium_cpu_seconds(pid), time.monotonic()
        video = page.evaluate(f"() => window.baseline({args.seconds}, {VIDEO_BITS_PER_SECOND})")
        base_cpu = chromium_cpu_seconds(pid) - cpu_before
        base_wall = time.monotonic() - wall_before
        browser.close()
    server.shutdown()
    figures.update(
        chromium_cpu_share_of_one_core=round(cpu / wall, 3),
        note_cpu="whole run incl. model load; Chromium's fake camera decoding the y4m included",
        server_mode_baseline_cpu_share=round(base_cpu / base_wall, 3),
        server_mode_baseline_video_bytes_per_second=round(video["bytesPerSecond"]),
        ratio_cpu_on_device_to_server_mode=round((cpu / wall) / max(base_cpu / base_wall, 1e-9), 2),
        ratio_bytes_on_device_to_server_mode=round(
            figures["bytesPerSecond"] / max(video["bytesPerSecond"], 1e-9), 4
        ),
        first_visit_bytes_raw=raw,
        first_visit_bytes_gzip=gzipped,
        load_average=os.getloadavg(),
        errors=errors[:5],
    )
    print(
        json.dumps(
            {k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()}, indent=1
        )
    )


def browser_pid() -> int:
    """The newest chromium process started by this one (the browser's main process)."""
    mine = os.getpid()
    candidates = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")[0]
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if b"chrom" in cmd and int(fields[1]) != 1 and _descends(int(entry.name), mine):
            candidates.append(int(entry.name))
    return min(candidates, key=lambda p: _depth(p))


def _parent(pid: int) -> int:
    try:
        return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return 0


def _descends(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        pid = _parent(pid)
    return False


def _depth(pid: int) -> int:
    depth = 0
    while pid > 1:
        pid = _parent(pid)
        depth += 1
    return depth


if __name__ == "__main__":
    main()
