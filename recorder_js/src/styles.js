// The recorder's look, scoped inside its shadow root so no host page (Qualtrics, LimeSurvey…)
// can restyle it and it restyles nothing of theirs.

export const STYLES = `
:host { all: initial; display: block; }
.cr { font: 18px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1f;
  background: #fff; max-width: 44rem; margin: 0 auto; padding: 1.25rem; box-sizing: border-box; }
.cr *, .cr *::before, .cr *::after { box-sizing: inherit; }
.cr h1 { font-size: 1.6rem; line-height: 1.25; margin: 0 0 .75rem; }
.cr h1:focus { outline: none; }
.cr p { margin: 0 0 1rem; }
.cr-consent { white-space: pre-wrap; background: #f5f5f7; border-radius: .5rem; padding: 1rem;
  margin: 0 0 1rem; max-height: 50vh; overflow: auto; }
.cr-instructions { color: #3a3a40; }
.cr-row { display: flex; flex-wrap: wrap; gap: .75rem; margin: 1rem 0; }
.cr-row > * { flex: 1 1 12rem; }
.cr-btn { display: inline-flex; align-items: center; justify-content: center; min-height: 3.25rem;
  padding: .75rem 1.25rem; font: inherit; font-weight: 600; border-radius: .5rem; cursor: pointer;
  border: 2px solid #1d4ed8; background: #1d4ed8; color: #fff; text-decoration: none;
  text-align: center; }
.cr-btn:hover { background: #1e40af; border-color: #1e40af; }
.cr-btn:disabled { opacity: .55; cursor: default; }
.cr-btn.cr-secondary { background: #fff; color: #1d4ed8; }
.cr-btn.cr-secondary:hover { background: #eef2ff; }
.cr-btn:focus-visible, .cr-withdraw:focus-visible, .cr a:focus-visible { outline: 3px solid #f59e0b;
  outline-offset: 2px; }
.cr-note { font-size: .9rem; color: #55555c; }
.cr-stage { margin: 0 0 1rem; }
.cr-stage video { display: block; width: 100%; border-radius: .5rem; background: #000; }
.cr-preview { max-width: 28rem; margin: 0 auto; transform: scaleX(-1); }
.cr-ad { max-height: 70vh; }
.cr-checks { list-style: none; padding: 0; margin: 0 0 1rem; }
.cr-checks li { padding: .4rem 0; }
.cr-checks .cr-ok::before { content: "✓ "; color: #15803d; font-weight: 700; }
.cr-checks .cr-ko::before { content: "✗ "; color: #b91c1c; font-weight: 700; }
.cr-checks .cr-tip { display: block; font-size: .9rem; color: #55555c; margin-left: 1.3rem; }
.cr-steps { margin: 0 0 1rem; padding-left: 1.4rem; }
.cr-bar { display: flex; justify-content: space-between; align-items: center; margin: 0 0 .5rem;
  font-size: .95rem; }
.cr-rec::before { content: ""; display: inline-block; width: .7rem; height: .7rem;
  border-radius: 50%; background: #dc2626; margin-right: .4rem; vertical-align: middle; }
.cr progress { width: 100%; height: 1.25rem; }
.cr-receipt { font: 700 1.8rem/1.2 ui-monospace, "SF Mono", Menlo, monospace; letter-spacing: .08em;
  background: #f5f5f7; border-radius: .5rem; padding: .75rem 1rem; display: inline-block;
  user-select: all; margin: 0 0 1rem; white-space: nowrap; max-width: 100%; }
@media (max-width: 30rem) { .cr-receipt { font-size: min(1.8rem, 5.6vw); padding: .6rem .6rem;
  letter-spacing: .04em; } }
.cr-sr { position: absolute; width: 1px; height: 1px; margin: -1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
.cr-preview-end { border: 2px dashed #b45309; background: #fffbeb; padding: .75rem 1rem; margin: 1rem 0; }
.cr-url { font-family: ui-monospace, monospace; font-size: .85rem; overflow-wrap: anywhere; }
.cr-badge { display: inline-block; font-size: .85rem; font-weight: 600; color: #713f12;
  background: #fef3c7; border-radius: 1rem; padding: .2rem .75rem; margin: 0 0 .75rem; }
.cr-offline { background: #fef3c7; border-radius: .5rem; padding: .5rem .75rem; font-size: .95rem; }
.cr-footer { border-top: 1px solid #e4e4e7; margin-top: 1rem; padding-top: .75rem; }
.cr-withdraw { font: inherit; font-size: .95rem; background: none; border: 2px solid #b91c1c;
  color: #b91c1c; border-radius: .5rem; padding: .5rem 1rem; min-height: 2.75rem; cursor: pointer; }
.cr-withdraw:hover { background: #fef2f2; }
.cr [hidden] { display: none !important; }
@media (max-width: 30rem) { .cr { padding: .75rem; } .cr h1 { font-size: 1.35rem; } }
`;
