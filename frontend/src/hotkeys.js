// A region label's hotkey, shared by the side panel (which shows it) and the page's key handling.

/** The label's own hotkey, else its place in the list (1-9) for the first nine, else none (''). */
export function labelHotkey(label, index) {
  if (label.hotkey !== null && label.hotkey !== undefined && String(label.hotkey) !== '') return String(label.hotkey);
  return index < 9 ? String(index + 1) : '';
}
