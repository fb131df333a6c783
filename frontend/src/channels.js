// Solo / mute per channel while listening.
//
// Web Audio graph: MediaElementSource → ChannelSplitter → one GainNode per channel →
// ChannelMerger → destination. Once an element is routed into an AudioContext it only sounds
// through it, so the graph is built lazily, inside the click that first needs it (a user gesture,
// which autoplay rules require), and never for mono files.

import { h } from './dom.js';

export class ChannelMixer {
  constructor({ media, count, bar }) {
    this.media = media;
    this.count = count;
    this.bar = bar;
    this.solo = new Array(count).fill(false);
    this.mute = new Array(count).fill(false);
    this.ctx = null;
    this.gains = [];
    this._render();
  }

  _ensureGraph() {
    if (this.ctx) return true;
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return false;
    try {
      const ctx = new AC();
      const source = ctx.createMediaElementSource(this.media);
      const splitter = ctx.createChannelSplitter(this.count);
      const merger = ctx.createChannelMerger(2);
      const master = ctx.createGain();
      master.gain.value = this.count > 2 ? 1 / Math.sqrt(this.count) : 1;
      source.connect(splitter);
      for (let i = 0; i < this.count; i++) {
        const gain = ctx.createGain();
        splitter.connect(gain, i);
        if (this.count === 2) {
          gain.connect(merger, 0, i); // keep stereo placement
        } else {
          gain.connect(merger, 0, 0); // more than two channels: mix every channel to both ears
          gain.connect(merger, 0, 1);
        }
        this.gains.push(gain);
      }
      merger.connect(master).connect(ctx.destination);
      this.ctx = ctx;
      return true;
    } catch (err) {
      console.warn('Earmark: channel mixer unavailable', err);
      return false;
    }
  }

  /** Call before play: a suspended context (tab in background, autoplay policy) is resumed. */
  resume() {
    if (this.ctx && this.ctx.state === 'suspended') this.ctx.resume().catch(() => {});
  }

  audible(i) {
    return this.solo.some(Boolean) ? this.solo[i] : !this.mute[i];
  }

  toggle(kind, i) {
    if (!this._ensureGraph()) return;
    this.resume();
    this[kind][i] = !this[kind][i];
    this.gains.forEach((g, k) => g.gain.setTargetAtTime(this.audible(k) ? 1 : 0, this.ctx.currentTime, 0.01));
    this._render();
  }

  _render() {
    const name = (i) => (this.count === 2 ? ['Left', 'Right'][i] : `Ch ${i + 1}`);
    this.bar.replaceChildren(
      h('span', { class: 'ann-channels-title' }, 'Channels'),
      ...Array.from({ length: this.count }, (_, i) =>
        h(
          'span',
          { class: `ann-channel${this.audible(i) ? '' : ' is-silent'}` },
          h('span', { class: 'ann-channel-name' }, name(i)),
          h(
            'button',
            {
              type: 'button',
              class: 'btn btn-small',
              'aria-pressed': String(this.solo[i]),
              'data-testid': `channel-solo-${i}`,
              title: `Solo ${name(i)}`,
              onclick: () => this.toggle('solo', i),
            },
            'Solo',
          ),
          h(
            'button',
            {
              type: 'button',
              class: 'btn btn-small',
              'aria-pressed': String(this.mute[i]),
              'data-testid': `channel-mute-${i}`,
              title: `Mute ${name(i)}`,
              onclick: () => this.toggle('mute', i),
            },
            'Mute',
          ),
        ),
      ),
    );
  }

  destroy() {
    this.ctx?.close().catch(() => {});
    this.ctx = null;
    this.bar.replaceChildren();
  }
}
