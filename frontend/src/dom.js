// A tiny hyperscript helper: h('button', {class: 'btn', onclick}, 'Text').

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key === 'style' && typeof value === 'object') {
      for (const [prop, v] of Object.entries(value)) {
        if (prop.startsWith('--')) el.style.setProperty(prop, v);
        else el.style[prop] = v;
      }
    } else if (key in el && typeof value !== 'string') {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  appendChildren(el, children);
  return el;
}

function appendChildren(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Query by data-testid / data-role inside root; throws if the template lost an element. */
export function byTestId(root, id) {
  const el = root.querySelector(`[data-testid="${id}"]`);
  if (!el) throw new Error(`annotator template is missing [data-testid="${id}"]`);
  return el;
}

export function byRole(root, role) {
  const el = root.querySelector(`[data-role="${role}"]`);
  if (!el) throw new Error(`annotator template is missing [data-role="${role}"]`);
  return el;
}

export function show(el, visible) {
  el.hidden = !visible;
}
