// cnnkit viewer: draw, drop or pick an image (or pick a test example of a 1-D or 3-D
// network); see the prediction as the run's task gives it (class bars, label bars, values,
// a mask or boxes over the input, the task's picture against the truth), every layer's
// maps (traces over time for 1-D layers, the middle slice of 3-D ones), the first-layer
// filters, and the receptive field and saliency of a clicked unit.
// Plain browser JavaScript, no build step; every text from the server goes in textContent.
"use strict";

const $ = (id) => document.getElementById(id);
const SEEN = 196; // CSS pixels of the input and saliency views

const state = {
  info: null,
  input: null,        // Uint8Array, C*H*W, what the network saw last
  selected: null,     // {layer, unit, field}
  busy: false,        // a prediction is in flight
  again: false,       // the drawing changed while it was
  saliencyTicket: 0,  // only the newest saliency answer is drawn
  saliencyBusy: false,
  saliencyAgain: false,
  layerViews: new Map(),
  predictions: 0,
  last: null,         // the last answer: the sliders redraw its mask or boxes
};

// ---------------------------------------------------------------- colour maps
function lut(stops) {
  const table = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (stops.length - 1);
    const k = Math.min(Math.floor(t), stops.length - 2);
    const f = t - k;
    for (let c = 0; c < 3; c++) {
      const a = parseInt(stops[k].slice(1 + 2 * c, 3 + 2 * c), 16);
      const b = parseInt(stops[k + 1].slice(1 + 2 * c, 3 + 2 * c), 16);
      table[i * 3 + c] = Math.round(a + (b - a) * f);
    }
  }
  return table;
}
const VIRIDIS = lut(["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80",
                     "#5ec962", "#addc30", "#fde725"]);
const INFERNO = lut(["#000004", "#1f0c48", "#550f6d", "#88226a", "#ba3655", "#e35933",
                     "#f98e09", "#f8c932", "#fcffa4"]);
const RDBU = lut(["#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62", "#b2182b"]);

// ---------------------------------------------------------------- helpers
function fromBase64(text) {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function toBase64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

function checksum(text) { // a short fingerprint of what is shown (tests wait for it to change)
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) | 0;
  return (h >>> 0).toString(16);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function api(path, options = {}) {
  let response;
  for (let attempt = 0; ; attempt++) {
    try {
      response = await fetch(path, options);
    } catch (err) {
      throw Object.assign(new Error(`the server does not answer (${err.message})`), {status: 0});
    }
    // A busy server answers 503 with Retry-After: wait as told (at most 5 s), a few times.
    if (response.status !== 503 || attempt >= 3) break;
    const wait = Math.min(5, Number(response.headers.get("Retry-After")) || 1);
    await sleep(wait * 1000 * (0.5 + Math.random() / 2));
  }
  let body = null;
  try { body = await response.json(); } catch (err) { body = null; }
  if (!response.ok) {
    const message = body && body.error ? body.error : `HTTP ${response.status}`;
    throw Object.assign(new Error(message), {status: response.status});
  }
  return body;
}

function postJSON(path, value) {
  return api(path, {method: "POST", headers: {"Content-Type": "application/json"},
                    body: JSON.stringify(value)});
}

function showError(err) {
  const box = $("error");
  box.hidden = false;
  box.textContent = (err.status ? `Error ${err.status}: ` : "Error: ") + err.message;
  document.body.dataset.lastError = String(err.status || 0);
}

function clearError() { $("error").hidden = true; }

// Paint C x H x W uint8 values (planar) into an RGBA ImageData: grey, RGB, or a colour map.
function paint(canvas, values, offset, h, w, channels, table) {
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(w, h);
  const px = image.data;
  const plane = h * w;
  for (let i = 0; i < plane; i++) {
    let r, g, b;
    if (table) {
      const v = values[offset + i] * 3;
      r = table[v]; g = table[v + 1]; b = table[v + 2];
    } else if (channels === 3) {
      r = values[offset + i]; g = values[offset + plane + i]; b = values[offset + 2 * plane + i];
    } else {
      r = g = b = values[offset + i];
    }
    px[4 * i] = r; px[4 * i + 1] = g; px[4 * i + 2] = b; px[4 * i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

// Paint an {shape: [H, W, 3], data: base64} picture (row by row, RGB) into a canvas.
function paintRGB(canvas, picture) {
  const [h, w] = picture.shape;
  const values = fromBase64(picture.data);
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    image.data[4 * i] = values[3 * i];
    image.data[4 * i + 1] = values[3 * i + 1];
    image.data[4 * i + 2] = values[3 * i + 2];
    image.data[4 * i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

// ---------------------------------------------------------------- drawing
const draw = {canvas: null, ctx: null, down: false, last: null};

function setupDrawing() {
  const [, h, w] = state.info.input_shape;
  const scale = 280 / Math.max(h, w);
  const canvas = $("draw");
  canvas.width = Math.max(28, Math.round(w * scale));
  canvas.height = Math.max(28, Math.round(h * scale));
  draw.canvas = canvas;
  draw.ctx = canvas.getContext("2d", {willReadFrequently: true});
  clearCanvas();
  if (state.info.input_shape[0] === 1) $("color").hidden = true;

  const at = (e) => {
    const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
  };
  const stroke = (from, to) => {
    const ctx = draw.ctx;
    ctx.strokeStyle = ctx.fillStyle = state.info.input_shape[0] === 1 ? "#ffffff" : $("color").value;
    ctx.lineWidth = Number($("brush").value) * canvas.width / 280;
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(from[0], from[1]);
    ctx.lineTo(to[0], to[1]);
    ctx.stroke();
  };
  canvas.addEventListener("pointerdown", (e) => {
    draw.down = true;
    draw.last = at(e);
    canvas.setPointerCapture(e.pointerId);
    stroke(draw.last, draw.last);
    predictDrawing();
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!draw.down) return;
    const p = at(e);
    stroke(draw.last, p);
    draw.last = p;
    predictDrawing();
  });
  const up = () => { if (draw.down) { draw.down = false; predictDrawing(); } };
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);

  $("clear").addEventListener("click", () => { clearCanvas(); predictDrawing(); });
  canvas.addEventListener("dragover", (e) => { e.preventDefault(); canvas.classList.add("dragging"); });
  canvas.addEventListener("dragleave", () => canvas.classList.remove("dragging"));
  canvas.addEventListener("drop", (e) => {
    e.preventDefault();
    canvas.classList.remove("dragging");
    if (e.dataTransfer.files.length) sendFile(e.dataTransfer.files[0]);
  });
  $("file").addEventListener("change", (e) => {
    if (e.target.files.length) sendFile(e.target.files[0]);
    e.target.value = "";
  });
}

function clearCanvas() {
  draw.ctx.fillStyle = "#000000";
  draw.ctx.fillRect(0, 0, draw.canvas.width, draw.canvas.height);
}

// The drawing at the network's resolution, channels first.
function readDrawing() {
  const [c, h, w] = state.info.input_shape;
  const small = document.createElement("canvas");
  small.width = w;
  small.height = h;
  const ctx = small.getContext("2d", {willReadFrequently: true});
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(draw.canvas, 0, 0, w, h);
  const rgba = ctx.getImageData(0, 0, w, h).data;
  const out = new Uint8Array(c * h * w);
  for (let i = 0; i < h * w; i++) {
    if (c === 1) {
      out[i] = Math.round((rgba[4 * i] + rgba[4 * i + 1] + rgba[4 * i + 2]) / 3);
    } else {
      out[i] = rgba[4 * i]; out[h * w + i] = rgba[4 * i + 1]; out[2 * h * w + i] = rgba[4 * i + 2];
    }
  }
  return out;
}

// Show what the network saw on the drawing canvas, so that drawing continues on it.
function inputToDrawing() {
  const [c, h, w] = state.info.input_shape;
  const small = document.createElement("canvas");
  paint(small, state.input, 0, h, w, c, null);
  draw.ctx.imageSmoothingEnabled = false;
  draw.ctx.drawImage(small, 0, 0, draw.canvas.width, draw.canvas.height);
}

// ---------------------------------------------------------------- predictions
// A blank canvas is no input: nothing is predicted and what was shown is cleared.
function clearPrediction() {
  state.last = null;
  state.input = null;
  $("predicted").textContent = "";
  $("blank").hidden = false;
  for (const row of $("bars").children) {
    row.classList.remove("top", "on");
    row.querySelector(".fill").style.width = "0%";
    row.querySelector(".value").textContent = "";
  }
  $("values").hidden = true;
  $("task-panel").hidden = true;
  for (const id of ["seen", "saliency", "task-overlay"]) {
    const canvas = $(id);
    canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
  }
  $("saliency-caption").textContent = "saliency";
  document.body.dataset.predicted = "";
  document.body.dataset.blank = "1";
}

async function predictDrawing() {
  if (state.busy) { state.again = true; return; }
  state.busy = true;
  document.body.dataset.busy = "1";
  try {
    do {
      state.again = false;
      const drawing = readDrawing();
      if (drawing.every((v) => v === 0)) {
        clearPrediction();
      } else {
        await predict({data: toBase64(drawing)});
      }
    } while (state.again);
  } finally {
    state.busy = false;
    delete document.body.dataset.busy;
  }
}

async function predict(body) {
  const started = performance.now();
  try {
    const answer = await postJSON("/api/predict", body);
    render(answer, performance.now() - started);
    return answer;
  } catch (err) {
    showError(err);
    return null;
  }
}

async function sendFile(file) {
  const started = performance.now();
  try {
    const answer = await api("/api/predict", {
      method: "POST", headers: {"Content-Type": file.type || "application/octet-stream"}, body: file});
    render(answer, performance.now() - started);
    inputToDrawing();
  } catch (err) {
    showError(err);
  }
}

async function pickExample(index) {
  const answer = await predict({example: index});
  if (answer && state.info.drawable) inputToDrawing();
}

function render(answer, ms) {
  clearError();
  state.last = answer;
  $("blank").hidden = true;
  delete document.body.dataset.blank;
  state.input = fromBase64(answer.input.data);
  if (state.info.drawable) {
    const [c, h, w] = state.info.input_shape;
    paint($("seen"), state.input, 0, h, w, c, null);
  } else {
    paintRGB($("seen"), answer.display);
  }
  if (answer.probabilities) renderBars(answer);
  if (answer.label_probabilities) renderLabelBars(answer);
  if (answer.values) renderValues(answer);
  renderTaskOverlay();
  renderPicture(answer);
  if (answer.layers) renderLayers(answer.layers);
  state.predictions += 1;
  document.body.dataset.predictions = String(state.predictions);
  document.body.dataset.predicted = answer.label !== undefined ? answer.label : "";
  $("timing").textContent = `round trip ${ms.toFixed(0)} ms`;
  refreshSaliency();
}

// ---------------------------------------------------------------- the task's answer
function barRows(names) {
  const bars = $("bars");
  if (!bars.children.length) {
    names.forEach((name, k) => {
      const row = document.createElement("div");
      row.className = "bar";
      const label = document.createElement("span");
      label.className = "name";
      label.textContent = name;
      const track = document.createElement("span");
      track.className = "track";
      const fill = document.createElement("span");
      fill.className = "fill";
      fill.style.display = "block";
      track.appendChild(fill);
      const value = document.createElement("span");
      value.className = "value";
      row.append(label, track, value);
      row.dataset.index = String(k);
      bars.appendChild(row);
    });
  }
  return bars;
}

// multilabel: one bar per label, those at or above the threshold highlighted
function renderLabelBars(answer) {
  const bars = barRows(state.info.classes);
  const on = new Set(answer.labels_on);
  answer.label_probabilities.forEach((p, k) => {
    const row = bars.children[k];
    if (!row) return;
    row.classList.toggle("on", on.has(k));
    row.querySelector(".fill").style.width = `${(100 * p).toFixed(1)}%`;
    row.querySelector(".value").textContent = p.toFixed(3);
  });
  const names = answer.labels_on.map((k) => state.info.classes[k] || String(k));
  const truth = answer.true_labels ? `; true: ${answer.true_labels.map((k) => state.info.classes[k] || String(k)).join(", ") || "none"}` : "";
  $("predicted").textContent = `: ${names.length ? names.join(", ") : "no label"} (threshold ${state.info.threshold}${truth})`;
  document.body.dataset.labels = answer.labels_on.join(",");
}

// regress: the predicted values, beside the true ones for a test example
function renderValues(answer) {
  const table = $("values");
  table.hidden = false;
  table.textContent = "";
  const head = document.createElement("tr");
  for (const text of ["output", "predicted", answer.true_values ? "true" : null]) {
    if (text === null) continue;
    const th = document.createElement("th");
    th.textContent = text;
    head.appendChild(th);
  }
  table.appendChild(head);
  answer.values.forEach((v, k) => {
    const row = document.createElement("tr");
    const cells = [state.info.classes[k] || String(k), v.toPrecision(4)];
    if (answer.true_values) cells.push(answer.true_values[k].toPrecision(4));
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      row.appendChild(td);
    }
    table.appendChild(row);
  });
  document.body.dataset.values = answer.values.map((v) => v.toFixed(4)).join(",");
}

// segment: the predicted mask over the input; detect: the predicted boxes over it
function renderTaskOverlay() {
  const answer = state.last;
  const canvas = $("task-overlay");
  const ctx = canvas.getContext("2d");
  canvas.width = canvas.height = SEEN;
  ctx.clearRect(0, 0, SEEN, SEEN);
  if (!answer) return;
  if (answer.mask && answer.mask.shape.length === 2) {
    const [h, w] = answer.mask.shape;
    const mask = fromBase64(answer.mask.data);
    const small = document.createElement("canvas");
    small.width = w;
    small.height = h;
    const sctx = small.getContext("2d");
    const image = sctx.createImageData(w, h);
    const classes = state.info.classes;
    let coloured = 0;
    for (let i = 0; i < h * w; i++) {
      const k = mask[i];
      const name = String(classes[k] || "").toLowerCase();
      if (name === "background" || name === "bg") continue; // left clear
      const c = answer.colours[k % answer.colours.length];
      image.data.set([c[0], c[1], c[2], 255], 4 * i);
      coloured++;
    }
    sctx.putImageData(image, 0, 0);
    ctx.globalAlpha = Number($("opacity").value) / 100;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(small, 0, 0, SEEN, SEEN);
    ctx.globalAlpha = 1;
    const present = [...new Set(mask)].filter((k) => {
      const name = String(classes[k] || "").toLowerCase();
      return name !== "background" && name !== "bg";
    }).sort((a, b) => a - b).map((k) => classes[k] || String(k));
    $("predicted").textContent = present.length ? `: ${present.join(", ")}` : ": background only";
    document.body.dataset.mask = `${coloured}:${checksum(answer.mask.data)}`;
  }
  if (answer.detections) {
    const min = Number($("score").value) / 100;
    $("score-value").textContent = min.toFixed(2);
    const shown = answer.detections.filter((d) => d.score >= min);
    ctx.lineWidth = 2;
    ctx.font = "bold 11px system-ui, sans-serif";
    for (const d of shown) {
      const c = answer.colours[d.class % answer.colours.length];
      ctx.strokeStyle = ctx.fillStyle = `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
      const [x0, y0, x1, y1] = d.box.map((v) => v * SEEN);
      ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
      ctx.fillText(`${d.label} ${d.score.toFixed(2)}`, x0 + 2, Math.max(10, y0 - 2));
    }
    $("predicted").textContent = `: ${shown.length} box${shown.length === 1 ? "" : "es"}`;
    document.body.dataset.boxes = String(shown.length);
  }
}

// the task's picture (the report's, for this input), against the truth for an example
function renderPicture(answer) {
  const panel = $("task-panel");
  if (!answer.picture) {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  $("picture").src = answer.picture;
  $("picture-note").textContent = answer.picture_error || "";
  document.body.dataset.picture = checksum(answer.picture);
}

function renderBars(answer) {
  const bars = barRows(state.info.classes);
  answer.probabilities.forEach((p, k) => {
    const row = bars.children[k];
    if (!row) return;
    row.classList.toggle("top", k === answer.predicted);
    row.querySelector(".fill").style.width = `${(100 * p).toFixed(1)}%`;
    row.querySelector(".value").textContent = p.toFixed(3);
  });
  $("predicted").textContent = `: ${answer.label} (p = ${answer.probabilities[answer.predicted].toFixed(2)})`;
}

// ---------------------------------------------------------------- layers
function layerView(layer) {
  let view = state.layerViews.get(layer.name);
  if (view && view.key === layer.shape.join("x") + "/" + layer.shown) return view;
  if (view) view.section.remove();
  const section = document.createElement("div");
  section.className = "layer";
  section.dataset.layer = layer.name;
  const title = document.createElement("h3");
  const more = layer.kind !== "vector" && layer.shown < layer.shape[0] ? ` (first ${layer.shown} ${layer.kind === "traces" ? "channels" : "maps"})` : "";
  const shape = (layer.volume || layer.shape).join("\u00d7");
  const slice = layer.slice ? ` (depth slice ${layer.slice[0]} of ${layer.slice[1]})` : "";
  title.textContent = `${layer.name} ${layer.type}: ${shape}${more}${slice}`;
  const maps = document.createElement("div");
  maps.className = "maps";
  section.append(title, maps);
  $("layers").appendChild(section);
  const canvases = [];
  if (layer.kind === "traces") {
    for (let k = 0; k < layer.shown; k++) {
      const canvas = document.createElement("canvas");
      canvas.className = "trace";
      canvas.width = Math.min(240, Math.max(96, 3 * layer.shape[1]));
      canvas.height = 40;
      canvas.dataset.channel = String(k);
      canvas.title = `${layer.name} channel ${k} over time`;
      maps.appendChild(canvas);
      canvases.push(canvas);
    }
  } else if (layer.shape.length === 3) {
    const [, h, w] = layer.shape;
    const side = Math.max(h, w);
    const scale = side >= 56 ? Math.min(1, 112 / side) : Math.floor(56 / side);
    for (let k = 0; k < layer.shown; k++) {
      const canvas = document.createElement("canvas");
      canvas.style.width = `${Math.round(w * scale)}px`;
      canvas.style.height = `${Math.round(h * scale)}px`;
      canvas.dataset.channel = String(k);
      canvas.title = `${layer.name} channel ${k}`;
      if (state.info.drawable) {
        canvas.addEventListener("click", (e) => {
          const r = canvas.getBoundingClientRect();
          const x = Math.min(w - 1, Math.floor((e.clientX - r.left) / r.width * w));
          const y = Math.min(h - 1, Math.floor((e.clientY - r.top) / r.height * h));
          select(layer.name, [k, y, x]);
        });
      }
      maps.appendChild(canvas);
      canvases.push(canvas);
    }
  } else {
    const canvas = document.createElement("canvas");
    canvas.className = "vector";
    canvas.title = `${layer.name}: ${layer.shown} units`;
    if (state.info.drawable) {
      canvas.addEventListener("click", (e) => {
        const r = canvas.getBoundingClientRect();
        const i = Math.min(layer.shown - 1, Math.floor((e.clientX - r.left) / r.width * layer.shown));
        select(layer.name, layer.shape.length === 1 ? [i] : unravel(i, layer.shape));
      });
    }
    maps.appendChild(canvas);
    canvases.push(canvas);
  }
  view = {section, canvases, key: layer.shape.join("x") + "/" + layer.shown};
  state.layerViews.set(layer.name, view);
  return view;
}

// One channel over time: values 0-255 (one scale per layer) as a line, low at the bottom.
function drawTrace(canvas, values, offset, steps) {
  const ctx = canvas.getContext("2d");
  const {width, height} = canvas;
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, width, height);
  ctx.strokeStyle = "#440154";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  for (let t = 0; t < steps; t++) {
    const x = steps > 1 ? t * (width - 1) / (steps - 1) : width / 2;
    const y = 1 + (1 - values[offset + t] / 255) * (height - 3);
    if (t === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  }
  ctx.stroke();
}

function unravel(index, shape) {
  const out = [];
  for (let d = shape.length - 1; d >= 0; d--) { out.unshift(index % shape[d]); index = Math.floor(index / shape[d]); }
  return out;
}

function renderLayers(layers) {
  state.lastLayers = layers;
  let fingerprint = "";
  for (const layer of layers) {
    const view = layerView(layer);
    const values = fromBase64(layer.data);
    fingerprint += layer.data.length + ":" + checksum(layer.data) + ";";
    if (layer.kind === "traces") {
      const steps = layer.shape[1];
      view.canvases.forEach((canvas, k) => drawTrace(canvas, values, k * steps, steps));
    } else if (layer.shape.length === 3) {
      const [, h, w] = layer.shape;
      view.canvases.forEach((canvas, k) => paint(canvas, values, k * h * w, h, w, 1, VIRIDIS));
    } else {
      paint(view.canvases[0], values, 0, 1, layer.shown, 1, VIRIDIS);
    }
  }
  document.body.dataset.maps = checksum(fingerprint);
  markSelection();
}

function markSelection() {
  for (const [name, view] of state.layerViews) {
    view.canvases.forEach((canvas, k) => {
      const sel = state.selected;
      const on = sel && sel.layer === name && (sel.unit.length !== 3 || sel.unit[0] === k);
      canvas.classList.toggle("selected", Boolean(on));
      if (on && sel.unit.length === 3) { // the unit itself, in red
        const ctx = canvas.getContext("2d");
        ctx.fillStyle = "#ff3b30";
        ctx.fillRect(sel.unit[2], sel.unit[1], 1, 1);
      }
    });
  }
}

// ---------------------------------------------------------------- a unit
async function select(layer, unit) {
  state.selected = {layer, unit, field: null};
  $("unselect").hidden = false;
  $("saliency-figure").hidden = false;
  markSelection();
  try {
    const field = await postJSON("/api/receptive_field", {layer, unit});
    if (!state.selected || state.selected.layer !== layer || state.selected.unit !== unit) return;
    state.selected.field = field;
    drawField();
  } catch (err) {
    showError(err);
  }
  refreshSaliency();
}

function drawField() {
  const overlay = $("overlay");
  overlay.width = SEEN;
  overlay.height = SEEN;
  const ctx = overlay.getContext("2d");
  ctx.clearRect(0, 0, SEEN, SEEN);
  const sel = state.selected;
  const caption = $("field-caption");
  if (!sel || !sel.field) {
    document.body.dataset.field = "";
    return;
  }
  const [, h, w] = state.info.input_shape;
  const f = sel.field;
  const lo = f.clipped.lo, hi = f.clipped.hi;
  const sx = SEEN / w, sy = SEEN / h;
  ctx.fillStyle = "rgba(255, 59, 48, 0.18)";
  ctx.strokeStyle = "#ff3b30";
  ctx.lineWidth = 3;
  const box = [lo[1] * sx, lo[0] * sy, (hi[1] - lo[1] + 1) * sx, (hi[0] - lo[0] + 1) * sy];
  ctx.fillRect(...box);
  ctx.strokeRect(box[0] + 1.5, box[1] + 1.5, box[2] - 3, box[3] - 3);
  const padded = f.lo.some((v, d) => v < 0 || f.hi[d] > [h, w][d] - 1);
  caption.textContent = `${sel.layer} unit (${sel.unit.join(", ")}) sees input rows ${lo[0]}\u2013${hi[0]}, ` +
    `columns ${lo[1]}\u2013${hi[1]}: a ${f.field.join("\u00d7")} field, jump ${f.jump.join("\u00d7")}` +
    (padded ? ", reaching into the zero padding." : ".");
  document.body.dataset.field = `${sel.layer}:${sel.unit.join(",")}:${lo.join(",")}-${hi.join(",")}`;
}

// ---------------------------------------------------------------- saliency
// One saliency request at a time; a change while it runs asks once more afterwards, so
// slow methods (occlusion) never pile up behind a fast-drawing hand.
async function refreshSaliency() {
  if (state.saliencyBusy) { state.saliencyAgain = true; return; }
  state.saliencyBusy = true;
  try {
    do {
      state.saliencyAgain = false;
      await requestSaliency();
    } while (state.saliencyAgain);
  } finally {
    state.saliencyBusy = false;
  }
}

async function requestSaliency() {
  if (!state.info.drawable || !state.input || !state.info.classifier && !state.selected) return;
  const ticket = ++state.saliencyTicket;
  let method = $("method").value;
  const body = {data: toBase64(state.input), method};
  const sel = state.selected;
  if (sel) {
    if (method !== "gradient" && method !== "smoothgrad") method = body.method = "gradient";
    body.layer = sel.layer;
    body.unit = sel.unit;
  }
  try {
    const answer = await postJSON("/api/saliency", body);
    if (ticket !== state.saliencyTicket) return; // a newer request is on its way
    const [, h, w] = state.info.input_shape;
    paint($("saliency"), fromBase64(answer.data), 0, h, w, 1, answer.signed ? RDBU : INFERNO);
    const fellBack = method !== $("method").value ? ` (${$("method").value} explains classes only)` : "";
    $("saliency-caption").textContent = sel ? `${method} of ${sel.layer} unit (${sel.unit.join(", ")})${fellBack}`
                                            : `${method} of the predicted class`;
    document.body.dataset.saliency = `${method}:${checksum(answer.data)}`;
  } catch (err) {
    if (ticket === state.saliencyTicket) showError(err);
  }
}

// ---------------------------------------------------------------- start
async function loadFilters() {
  if (!state.info.conv_layers.length) {
    $("filters-title").textContent = "(no convolution)";
    return;
  }
  const f = await api("/api/filters");
  if (f.picture) { // 1-D and 3-D filters: the report's picture of them
    $("filters-title").textContent = `${f.layer}: ${f.shape[0]} filters ${f.shape.slice(1).join("\u00d7")}`;
    $("filters-picture").src = f.picture;
    $("filters-picture").hidden = false;
    return;
  }
  $("filters-title").textContent = `${f.layer}: ${f.shape[0]} filters ${f.shape.slice(1).join("\u00d7")}` +
    (f.per_channel ? " (rows: filters, columns: input channels)" : "");
  const box = $("filters");
  box.classList.toggle("per-channel", f.per_channel);
  if (f.per_channel) box.style.gridTemplateColumns = `repeat(${f.cols}, 24px)`;
  const data = fromBase64(f.data);
  const [th, tw] = f.tile;
  for (let k = 0; k < f.count; k++) {
    const canvas = document.createElement("canvas");
    canvas.width = tw;
    canvas.height = th;
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(tw, th);
    for (let i = 0; i < th * tw; i++) {
      const o = (k * th * tw + i) * 3;
      image.data.set([data[o], data[o + 1], data[o + 2], 255], 4 * i);
    }
    ctx.putImageData(image, 0, 0);
    box.appendChild(canvas);
  }
}

async function loadExamples() {
  const answer = await api("/api/examples?count=20");
  const box = $("examples");
  for (const ex of answer.examples) {
    const canvas = document.createElement("canvas");
    paintRGB(canvas, ex.display);
    canvas.title = `test example ${ex.index}` + (ex.class ? `: ${ex.class}` : "");
    canvas.dataset.index = String(ex.index);
    canvas.addEventListener("click", () => pickExample(ex.index));
    box.appendChild(canvas);
  }
  if (!answer.examples.length) box.textContent = "(the run's test data is not available)";
  return answer.examples;
}

async function start() {
  try {
    state.info = await api("/api/info");
  } catch (err) {
    showError(err);
    return;
  }
  const info = state.info;
  $("title").textContent = `${info.name} \u2014 ${info.run}`;
  document.title = `${info.name} \u2014 cnnkit viewer`;
  const acc = info.test_accuracy !== null && info.test_accuracy !== undefined
    ? `, test accuracy ${(100 * info.test_accuracy).toFixed(1)}%` : "";
  const metrics = Object.entries(info.metrics || {}).filter(([k]) => k !== "accuracy")
    .map(([k, v]) => `, test ${k} ${v.toFixed(3)}`).join("");
  $("subtitle").textContent = `${info.task}: input ${info.input_shape.join("\u00d7")}, ${info.classes.length} classes, ` +
    `${info.layers.length} layers, ${info.weights} weights${acc}${metrics}`;
  document.body.dataset.task = info.task;
  document.body.dataset.predictions = "0";
  // saliency explains a class, or a clicked unit: hidden until there is one to explain
  $("saliency-figure").hidden = !info.classifier;
  if (!info.drawable) {
    $("drawing").hidden = true;
    $("pick-hint").hidden = false;
    $("saliency-figure").hidden = true;
    $("field-caption").hidden = true;
  }
  $("task-controls").hidden = !(info.task === "segment" || info.task === "detect");
  $("opacity-control").hidden = info.task !== "segment";
  $("score-control").hidden = info.task !== "detect";
  $("opacity").addEventListener("input", renderTaskOverlay);
  $("score").addEventListener("input", renderTaskOverlay);
  const [, h, w] = info.drawable ? info.input_shape : [0, 1, 1];
  for (const id of ["seen", "saliency"]) { $(id).width = w; $(id).height = h; }
  $("overlay").width = $("overlay").height = SEEN;
  $("method").addEventListener("change", refreshSaliency);
  $("unselect").addEventListener("click", () => {
    state.selected = null;
    $("unselect").hidden = true;
    $("saliency-figure").hidden = !info.classifier;
    $("field-caption").textContent = "Click a unit of any map below: its receptive field is drawn on the input, and its saliency beside it.";
    drawField();
    if (state.lastLayers) renderLayers(state.lastLayers);
    refreshSaliency();
  });
  if (info.drawable) setupDrawing();
  let examples = [];
  try {
    [, examples] = await Promise.all([loadFilters(), loadExamples()]);
  } catch (err) {
    showError(err);
  }
  if (info.drawable) {
    await predictDrawing(); // a blank canvas: nothing is predicted until something is drawn
  } else {
    clearPrediction();
    if (examples && examples.length) await pickExample(examples[0].index);
  }
  document.body.dataset.ready = "1";
}

start();
