// The upload page: per-file progress, two uploads at a time, a summary with totals and links at the end.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) return;
  var input = document.getElementById("files"), drop = document.getElementById("dropzone");
  var table = document.getElementById("results"), picked = [];
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var error = form.querySelector("[data-role=upload-error]"), pickedNote = form.querySelector("[data-role=picked]");
  var summary = document.querySelector("[data-role=summary]");

  function showPicked() {
    pickedNote.textContent = picked.length ? picked.length + " file" + (picked.length === 1 ? "" : "s") + " ready: " +
      picked.slice(0, 5).map(function (f) { return f.name; }).join(", ") + (picked.length > 5 ? ", …" : "") : "";
    error.hidden = true;
  }
  input.addEventListener("change", function () { picked = Array.from(input.files); showPicked(); });
  drop.addEventListener("dragover", function (e) { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
  drop.addEventListener("drop", function (e) {
    // Keep the file picker: only the list of chosen files changes (a drop used to replace the picker's markup).
    e.preventDefault(); drop.classList.remove("over");
    picked = Array.from(e.dataTransfer.files); showPicked();
  });

  function row(file) {
    var tr = document.createElement("tr");
    var name = document.createElement("td"), bar = document.createElement("td"), result = document.createElement("td");
    name.textContent = file.name;
    var progress = document.createElement("progress");
    progress.max = 100; progress.value = 0; progress.className = "bar";
    progress.setAttribute("aria-label", "Upload of " + file.name);
    bar.appendChild(progress);
    result.className = "muted"; result.textContent = "waiting";
    tr.append(name, bar, result);
    table.tBodies[0].appendChild(tr);
    return tr;
  }

  function send(file, tr, sidecar, totals) {
    return new Promise(function (resolve) {
      var body = new FormData(); body.append("files", file); if (sidecar) body.append("sidecar", sidecar);
      var xhr = new XMLHttpRequest(); xhr.open("POST", form.dataset.url); xhr.setRequestHeader("X-CSRFToken", csrf);
      var progress = tr.querySelector("progress"), cell = tr.cells[2];
      xhr.upload.onprogress = function (e) { if (e.lengthComputable) progress.value = (100 * e.loaded) / e.total; };
      xhr.onload = function () {
        var r = {}; try { r = JSON.parse(xhr.responseText); } catch (err) { /* not JSON: shown below */ }
        var res = (r.results || [])[0] || { status: "rejected", message: r.detail || "The server answered " + xhr.status + "." };
        totals[res.status] = (totals[res.status] || 0) + 1;
        cell.className = ""; cell.textContent = "";
        var badge = document.createElement("span"); badge.className = "badge " + res.status; badge.textContent = res.status;
        cell.append(badge, " ");
        if (res.status === "accepted" && res.recording_id) {
          var a = document.createElement("a"); a.href = form.dataset.recordingUrl + res.recording_id + "/";
          a.textContent = "recording " + res.recording_id; cell.append(a);
        } else {
          cell.append(res.message || "");
        }
        progress.value = 100; resolve();
      };
      xhr.onerror = function () { totals.rejected = (totals.rejected || 0) + 1; cell.textContent = "network error"; resolve(); };
      xhr.send(body);
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (!picked.length) {
      error.textContent = "Choose or drop at least one audio file first.";
      error.hidden = false;
      input.focus();
      return;
    }
    table.hidden = false; summary.hidden = true;
    var sidecar = document.getElementById("sidecar").files[0];
    var rows = picked.map(function (f) { return [f, row(f)]; }), totals = {};
    var queue = rows.slice(), button = document.getElementById("start");
    button.disabled = true;
    // Two uploads at a time: per-file progress without flooding the server.
    function worker() {
      if (!queue.length) return Promise.resolve();
      var next = queue.shift();
      return send(next[0], next[1], sidecar, totals).then(worker);
    }
    Promise.all([worker(), worker()]).then(function () {
      var parts = [(totals.accepted || 0) + " accepted", (totals.quarantined || 0) + " quarantined (waiting for consent)",
                   (totals.duplicate || 0) + " duplicate" + (totals.duplicate === 1 ? "" : "s"), (totals.rejected || 0) + " rejected"];
      summary.querySelector("[data-role=totals]").textContent = rows.length + " file" + (rows.length === 1 ? "" : "s") + ": " + parts.join(", ") +
        ". Accepted recordings are being processed now.";
      summary.hidden = false; button.disabled = false; picked = []; input.value = ""; showPicked();
    });
  });
})();

// Imports from registered sources (issue 13): a source id and an optional sub-folder, polled to the end.
(() => {
  const csrf = (document.querySelector("[name=csrfmiddlewaretoken]") || {}).value || "";
  const importForm = document.getElementById("import-form");
  if (importForm) {
    const status = document.getElementById("import-status");
    const poll = id => fetch("/api/v1/imports/" + id + "/", {credentials: "same-origin"}).then(r => r.json()).then(b => {
      status.textContent = `import ${b.id}: ${b.status}, ${b.processed}/${b.total} files (${b.accepted} accepted, ` +
        `${b.quarantined} quarantined, ${b.duplicates} duplicates, ${b.rejected} rejected)${b.error ? " — " + b.error : ""}`;
      if (b.status === "queued" || b.status === "running") setTimeout(() => poll(id), 1500);
    });
    importForm.addEventListener("submit", async e => {
      e.preventDefault();
      const body = {source_id: Number(document.getElementById("import-source").value),
                    path: document.getElementById("import-path").value};
      const r = await fetch(importForm.dataset.url, {method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrf}, body: JSON.stringify(body)});
      const b = await r.json();
      if (!r.ok) { status.textContent = b.detail || ("HTTP " + r.status); return; }
      poll(b.id);
    });
  }
})();
