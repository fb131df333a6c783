// BBC audiowaveform JSON → what wavesurfer draws.
//
// The server stores peaks as {channels, bits, length, data: [min,max (ch0), min,max (ch1), ...per bucket]}.
// wavesurfer wants one array of floats in [-1, 1] per channel; it draws |value| envelopes, so the
// interleaved min/max sequence of one channel ([min0, max0, min1, max1, ...]) renders the same
// envelope as the server computed, without us choosing between min and max.

export function peaksToChannels(json) {
  const channels = Math.max(1, json.channels || 1);
  const scale = json.bits === 8 ? 127 : 32767;
  const data = json.data || [];
  const length = json.length || Math.floor(data.length / (2 * channels));
  const out = [];
  let maxPeak = 0;
  for (let c = 0; c < channels; c++) {
    const arr = new Float32Array(length * 2);
    for (let i = 0; i < length; i++) {
      const base = (i * channels + c) * 2;
      const lo = clampUnit((data[base] || 0) / scale);
      const hi = clampUnit((data[base + 1] || 0) / scale);
      arr[2 * i] = lo;
      arr[2 * i + 1] = hi;
      const m = Math.max(-lo, hi);
      if (m > maxPeak) maxPeak = m;
    }
    out.push(arr);
  }
  return { channels: out, length, maxPeak: maxPeak || 1, samplesPerPixel: json.samples_per_pixel };
}

function clampUnit(v) {
  return v > 1 ? 1 : v < -1 ? -1 : v;
}

/** Duration from the peaks header when the recording row lacks one. */
export function peaksDuration(json) {
  if (json.duration) return json.duration;
  if (json.sample_rate && json.samples_per_pixel && json.length) {
    return (json.length * json.samples_per_pixel) / json.sample_rate;
  }
  return 0;
}
