// The upload page: per-file uploads with progress, and imports from registered sources.
// A static file (no inline script), so the page runs under a Content-Security-Policy without 'unsafe-inline'.
(() => {
  const csrf = (document.querySelector("[name=csrfmiddlewaretoken]") || {}).value || "";
  const form = document.getElementById("upload-form");
  if (form) {
    const url = form.dataset.url, input = document.getElementById("files");
    const drop = document.getElementById("dropzone"), table = document.getElementById("results");
    let picked = [];
    input.addEventListener("change", () => { picked = Array.from(input.files); });
    drop.addEventListener("dragover", e => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", e => {
      e.preventDefault(); drop.classList.remove("over"); picked = Array.from(e.dataTransfer.files);
      drop.querySelector("p").textContent = picked.length + " file(s) ready";
    });
    const row = file => {
      const tr = document.createElement("tr");
      const name = document.createElement("td"), prog = document.createElement("td"), res = document.createElement("td");
      const bar = document.createElement("div"), fill = document.createElement("span");
      bar.className = "progress"; bar.appendChild(fill); prog.appendChild(bar);
      name.textContent = file.name; res.className = "muted"; res.textContent = "waiting";
      tr.append(name, prog, res); table.tBodies[0].appendChild(tr); return tr;
    };
    const send = (file, tr, sidecar) => new Promise(resolve => {
      const body = new FormData(); body.append("files", file); if (sidecar) body.append("sidecar", sidecar);
      const xhr = new XMLHttpRequest(); xhr.open("POST", url); xhr.setRequestHeader("X-CSRFToken", csrf);
      const fill = tr.querySelector(".progress span");
      // CSSOM writes (element.style.x = …) are not inline styles: CSP allows them.
      xhr.upload.onprogress = e => { if (e.lengthComputable) fill.style.width = (100 * e.loaded / e.total) + "%"; };
      xhr.onload = () => {
        let r = {}; try { r = JSON.parse(xhr.responseText); } catch (e) { /* not JSON: use the status */ }
        const res = (r.results || [])[0] || {status: "rejected", message: r.detail || ("HTTP " + xhr.status)};
        const cell = tr.cells[2], badge = document.createElement("span");
        cell.className = ""; cell.textContent = ""; badge.className = "badge " + res.status; badge.textContent = res.status;
        cell.append(badge, " ", res.status === "accepted" ? "recording " + res.recording_id : res.message);
        fill.style.width = "100%"; resolve();
      };
      xhr.onerror = () => { tr.cells[2].textContent = "network error"; resolve(); };
      xhr.send(body);
    });
    form.addEventListener("submit", async e => {
      e.preventDefault();
      if (!picked.length) return;
      table.hidden = false;
      const sidecar = document.getElementById("sidecar").files[0];
      const queue = picked.map(f => [f, row(f)]);
      // Two uploads at a time: per-file progress without flooding the server.
      const worker = async () => { while (queue.length) { const [f, tr] = queue.shift(); await send(f, tr, sidecar); } };
      await Promise.all([worker(), worker()]);
    });
  }
  const importForm = document.getElementById("import-form");
  if (importForm) {
    const status = document.getElementById("import-status");
    const poll = id => fetch("/api/v1/imports/" + id + "/", {credentials: "same-origin"}).then(r => r.json()).then(b => {
      status.textContent = `import ${b.id}: ${b.status}, ${b.processed}/${b.total} files (${b.accepted} accepted, ` +
        `${b.duplicates} duplicates, ${b.rejected} rejected)${b.error ? " — " + b.error : ""}`;
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
