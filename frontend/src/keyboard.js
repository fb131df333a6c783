// Every keyboard shortcut, in one table: the dispatcher and the help overlay both read it, so the
// overlay can never fall out of date. Shortcuts use physical keys (event.code) where the printed
// character differs between layouts or with Shift ([ vs {, , vs <).

import { h } from './dom.js';
import { isTypingTarget } from './util.js';

const plain = (e) => !e.ctrlKey && !e.metaKey && !e.altKey;
const ctrl = (e) => (e.ctrlKey || e.metaKey) && !e.altKey;
const key = (k) => (e) => plain(e) && !e.shiftKey && e.key.toLowerCase() === k;
const code = (c, shift = false) => (e) => plain(e) && e.code === c && e.shiftKey === shift;

export const SHORTCUTS = [
  // group, keys shown in the help overlay, what it does, matcher, action name, argument
  ['Playback', ['Space'], 'Play / pause', code('Space'), 'playPause'],
  ['Playback', ['R', 'Shift+Space'], 'Play the selected region', (e) => key('r')(e) || code('Space', true)(e), 'playRegion'],
  ['Playback', ['L'], 'Loop the selected region on / off', key('l'), 'toggleLoop'],
  ['Playback', ['←', '→'], 'Seek 1 s back / forward', (e) => code('ArrowLeft')(e) || code('ArrowRight')(e), 'seekBy', (e) => (e.code === 'ArrowLeft' ? -1 : 1)],
  ['Playback', ['Shift+←', 'Shift+→'], 'Seek 5 s back / forward', (e) => code('ArrowLeft', true)(e) || code('ArrowRight', true)(e), 'seekBy', (e) => (e.code === 'ArrowLeft' ? -5 : 5)],
  ['Playback', ['Home', 'End'], 'Go to the start / end', (e) => code('Home')(e) || code('End')(e), 'seekEdge', (e) => e.code === 'End'],
  ['View', ['+', '−'], 'Zoom in / out (the mouse wheel zooms over the waveform)', (e) => plain(e) && ['+', '=', '-', '_'].includes(e.key), 'zoom', (e) => (['+', '='].includes(e.key) ? 1.5 : 1 / 1.5)],
  ['View', ['F'], 'Fit the whole recording', key('f'), 'zoomFit'],
  ['View', ['V'], 'Spectrogram view on / off', key('v'), 'toggleSpectrogram'],
  ['Regions', ['Drag'], 'Drag on the waveform to draw a region; drag its body to move, its edges to resize', null, null],
  ['Regions', ['I', 'O'], 'Mark start / end of a new region at the playhead', (e) => key('i')(e) || key('o')(e), 'mark', (e) => e.key.toLowerCase()],
  ['Regions', ['N', 'P'], 'Select and play the next / previous region or suggestion', (e) => key('n')(e) || key('p')(e), 'step', (e) => (e.key.toLowerCase() === 'n' ? 1 : -1)],
  ['Regions', ['1–9'], 'Label the selected region (accepts a selected suggestion with that label)', (e) => plain(e) && !e.shiftKey && /^(Digit|Numpad)[1-9]$/.test(e.code), 'labelDigit', (e) => Number(e.code.slice(-1))],
  ['Regions', ['0'], 'Remove the selected region’s label', (e) => plain(e) && !e.shiftKey && /^(Digit|Numpad)0$/.test(e.code), 'clearLabel'],
  ['Regions', ['Shift+1–9'], 'Toggle a clip-level label', (e) => plain(e) && e.shiftKey && /^Digit[1-9]$/.test(e.code), 'clipDigit', (e) => Number(e.code.slice(-1))],
  ['Regions', ['Enter'], 'Accept the selected suggestion, or edit the selected region’s transcript', code('Enter'), 'enter'],
  ['Regions', ['T'], 'Edit the selected region’s transcript (Esc leaves the field)', key('t'), 'focusTranscript'],
  ['Regions', ['C'], 'Cycle the selected region’s channel (all → 1 → 2 …)', key('c'), 'cycleChannel'],
  ['Regions', ['Delete', 'Backspace'], 'Delete the selected region / dismiss the selected suggestion', (e) => code('Delete')(e) || code('Backspace')(e), 'deleteSelected'],
  ['Regions', ['Esc'], 'Deselect; close this help', code('Escape'), 'escape'],
  ['Boundaries', ['[', ']'], 'Move the start 10 ms earlier / later (replays around it)', (e) => code('BracketLeft')(e) || code('BracketRight')(e), 'nudge', (e) => ['start', e.code === 'BracketLeft' ? -0.01 : 0.01]],
  ['Boundaries', ['{', '}'], 'Move the start 100 ms earlier / later (Shift+[ / Shift+])', (e) => code('BracketLeft', true)(e) || code('BracketRight', true)(e), 'nudge', (e) => ['start', e.code === 'BracketLeft' ? -0.1 : 0.1]],
  ['Boundaries', [',', '.'], 'Move the end 10 ms earlier / later (replays around it)', (e) => code('Comma')(e) || code('Period')(e), 'nudge', (e) => ['end', e.code === 'Comma' ? -0.01 : 0.01]],
  ['Boundaries', ['<', '>'], 'Move the end 100 ms earlier / later (Shift+, / Shift+.)', (e) => code('Comma', true)(e) || code('Period', true)(e), 'nudge', (e) => ['end', e.code === 'Comma' ? -0.1 : 0.1]],
  ['Boundaries', ['S'], 'Snap the nearest boundary to the nearest voiced-segment edge', key('s'), 'snap'],
  ['Spectrogram', ['Drag'], 'Drag on the spectrogram to draw a time-frequency box (a new region)', null, null],
  ['Spectrogram', ['Shift+Drag'], 'Set the selected region’s frequency range', null, null],
  ['Editing', ['Ctrl+Z'], 'Undo', (e) => ctrl(e) && !e.shiftKey && e.code === 'KeyZ', 'undo'],
  ['Editing', ['Ctrl+Shift+Z', 'Ctrl+Y'], 'Redo', (e) => ctrl(e) && ((e.shiftKey && e.code === 'KeyZ') || (!e.shiftKey && e.code === 'KeyY')), 'redo'],
  ['Editing', ['Ctrl+S'], 'Save now (changes also save by themselves)', (e) => ctrl(e) && e.code === 'KeyS', 'saveNow', null, { inFields: true }],
  ['Editing', ['Ctrl+Enter'], 'Submit and open the next recording', (e) => ctrl(e) && e.code === 'Enter', 'submit', null, { inFields: true }],
  ['Help', ['?'], 'Show / hide this list', (e) => !e.ctrlKey && !e.metaKey && e.key === '?', 'toggleHelp'],
].map(([group, keys, description, match, action, arg = null, opts = {}]) => ({ group, keys, description, match, action, arg, ...opts }));

/**
 * Install the document-level dispatcher. `actions` maps action names to functions; a missing
 * action or one returning false lets the key through. `labelHotkey(e)` handles non-digit label
 * hotkeys after the built-ins.
 */
export function installKeyboard({ actions, labelHotkey, enabled = () => true }) {
  const onKeyDown = (e) => {
    if (e.defaultPrevented || e.isComposing || !enabled()) return;
    const target = e.target;
    const typing = isTypingTarget(target);
    if (typing) {
      if (e.key === 'Escape') {
        target.blur();
        e.preventDefault();
        return;
      }
    }
    const tag = target instanceof Element ? target.tagName : '';
    const onButton = tag === 'BUTTON' || tag === 'A' || tag === 'SUMMARY';
    const onToggle = tag === 'INPUT' && ['checkbox', 'radio'].includes((target.type || '').toLowerCase());
    for (const s of SHORTCUTS) {
      if (!s.match || !s.action || !s.match(e)) continue;
      if (typing && !s.inFields) return;
      if ((onButton || onToggle) && e.code === 'Enter' && !e.ctrlKey && !e.metaKey) return; // activate the control
      if (onToggle && e.code === 'Space') return;
      const fn = actions[s.action];
      if (!fn) return;
      const result = fn(typeof s.arg === 'function' ? s.arg(e) : s.arg, e);
      if (result !== false) e.preventDefault();
      return;
    }
    if (!typing && labelHotkey && plain(e) && labelHotkey(e)) e.preventDefault();
  };
  document.addEventListener('keydown', onKeyDown);
  return () => document.removeEventListener('keydown', onKeyDown);
}

/** The help overlay's content, grouped like the table. */
export function renderHelp(list, { mode } = {}) {
  const groups = new Map();
  for (const s of SHORTCUTS) {
    if (mode === 'review' && s.action === 'submit') continue;
    if (!groups.has(s.group)) groups.set(s.group, []);
    groups.get(s.group).push(s);
  }
  list.replaceChildren(
    ...[...groups].map(([group, items]) =>
      h(
        'section',
        { class: 'ann-help-group' },
        h('h3', {}, group),
        h(
          'dl',
          {},
          items.map((s) => [
            h('dt', {}, s.keys.map((k, i) => [i ? ' / ' : '', h('kbd', {}, k)])),
            h('dd', {}, s.description),
          ]),
        ),
      ),
    ),
  );
}
