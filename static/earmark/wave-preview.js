// Draws a recording's waveform on a canvas from its stored peaks (BBC audiowaveform JSON), no audio decoding.
(function () {
  "use strict";
  function draw(canvas, data) {
    var ctx = canvas.getContext("2d");
    var ch = data.channels || 1, scale = data.bits === 8 ? 127 : 32767, n = data.length;
    var w = canvas.width, h = canvas.height, mid = h / 2;
    ctx.clearRect(0, 0, w, h);
    ctx.fillStyle = "#2f6fde";
    for (var x = 0; x < w; x++) {
      var i = Math.floor((x * n) / w), lo = 0, hi = 0;
      for (var c = 0; c < ch; c++) {
        lo = Math.min(lo, data.data[2 * (i * ch + c)] / scale);
        hi = Math.max(hi, data.data[2 * (i * ch + c) + 1] / scale);
      }
      ctx.fillRect(x, mid - hi * mid, 1, Math.max(1, (hi - lo) * mid));
    }
  }
  document.querySelectorAll("canvas[data-peaks-url]").forEach(function (canvas) {
    var status = canvas.parentElement.querySelector("[data-role=wave-status]");
    fetch(canvas.dataset.peaksUrl, { credentials: "same-origin" })
      .then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      })
      .then(function (res) {
        if (!res.ok) throw new Error(res.body.detail || "no peaks yet");
        draw(canvas, res.body);
        canvas.dataset.drawn = "true";
        if (status) status.hidden = true;
      })
      .catch(function (err) {
        if (status) status.textContent = "No waveform yet: " + err.message;
      });
  });
})();
