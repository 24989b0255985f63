// The floor map: one SVG per floor, each space coloured, patterned and labelled by its status
// at one instant. Booking and catalogue events are applied from their payload: bookings never
// overlap on a space, so an event tells exactly what the space shows at that instant.

import { h } from "./core.js";
import { fmt, t } from "./i18n.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const LIVE = { held: "held", confirmed: "booked", checked_in: "occupied", pending_approval: "pending" };
export const STATUS_ICON = { free: "✓", held: "◔", booked: "■", occupied: "●", pending: "◌", turnaround: "↻" };
const ZOOMS = [1, 1.5, 2, 3];

function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  return el;
}

/** The hidden <svg> with the status patterns every plan refers to (once per page). */
function ensurePatterns() {
  if (document.getElementById("floor-patterns")) return;
  const defs = svg("defs");
  const hatch = svg("pattern", { id: "pat-held", width: 2, height: 2, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" });
  hatch.append(svg("rect", { width: 2, height: 2, class: "pat-bg-held" }), svg("rect", { width: 0.7, height: 2, class: "pat-fg" }));
  const dots = svg("pattern", { id: "pat-booked", width: 2, height: 2, patternUnits: "userSpaceOnUse" });
  dots.append(svg("rect", { width: 2, height: 2, class: "pat-bg-booked" }), svg("circle", { cx: 1, cy: 1, r: 0.35, class: "pat-fg" }));
  defs.append(hatch, dots);
  const holder = svg("svg", { id: "floor-patterns", width: 0, height: 0, "aria-hidden": "true", focusable: "false" });
  holder.style.position = "absolute";
  holder.append(defs);
  document.body.append(holder);
}

export class FloorMap {
  /**
   * @param {HTMLElement} container
   * @param {object} options  onSelect(space), editable, onMove(space, x, y), zone()
   */
  constructor(container, { onSelect = () => {}, editable = false, onMove = () => {}, zone = () => undefined } = {}) {
    Object.assign(this, { container, onSelect, editable, onMove, zone });
    this.snapshot = null;
    this.at = null;             // ms of the instant shown
    this.selectedId = null;
    this.zoom = 0;
    this.highlight = null;      // set of space ids matching the search, or null
    ensurePatterns();
  }

  /** A fresh /floor snapshot for instant `at` (ms). */
  show(snapshot, at) {
    this.snapshot = structuredClone(snapshot);
    this.at = at;
    this.draw();
  }

  space(id) { return this.snapshot?.spaces.find((s) => s.id === id) ?? null; }

  /** Apply one event envelope; returns the space it changed, if any. */
  apply(envelope) {
    if (!this.snapshot) return null;
    const data = envelope.data || {};
    if (envelope.type === "space.updated") return this.applySpace(data);
    if (envelope.type === "location.updated") {
      if (data.floors) { this.snapshot.floors = data.floors; this.draw(); }
      return null;
    }
    if (!envelope.type?.startsWith("booking.")) return null;
    const space = this.space(envelope.space_id ?? data.space_id);
    if (!space) return null;
    const covers = (start, end) => start && end && Date.parse(start) <= this.at && this.at < Date.parse(end);
    const live = LIVE[data.status];
    if (live && covers(data.start, data.end)) {
      Object.assign(space, { status: live, until: data.end });
    } else if (covers(data.start, data.end) || covers(data.previous_start, data.previous_end)) {
      // Only one live booking can cover an instant: this one was it, and it is gone.
      Object.assign(space, { status: "free", until: null });
    }
    const start = Date.parse(data.start);
    if (live && start > this.at && (!space.next_start || start < Date.parse(space.next_start))) {
      space.next_start = data.start;
    } else if (!live && space.next_start === data.start) {
      space.next_start = null; // the page refetches this space's next booking if it cares
    }
    this.paint(space);
    return space;
  }

  applySpace(item) {
    const spaces = this.snapshot.spaces;
    const index = spaces.findIndex((s) => s.id === item.id);
    if (!item.active) {
      if (index >= 0) { spaces.splice(index, 1); this.draw(); }
      return null;
    }
    const geometry = ["name", "type", "capacity", "floor", "x", "y", "width", "height"];
    if (index < 0) {
      spaces.push({ ...Object.fromEntries(geometry.map((k) => [k, item[k]])), id: item.id, status: "free", until: null, next_start: null });
      this.draw();
      return this.space(item.id);
    }
    const space = spaces[index];
    const moved = space.floor !== item.floor;
    for (const key of geometry) space[key] = item[key];
    if (moved) this.draw();
    else this.place(space);
    return space;
  }

  select(id) {
    this.selectedId = id;
    for (const g of this.container.querySelectorAll(".space")) {
      g.classList.toggle("selected", Number(g.dataset.space) === id);
    }
  }

  setHighlight(ids) {
    this.highlight = ids;
    for (const space of this.snapshot?.spaces ?? []) this.paint(space);
  }

  // ---------------------------------------------------------------- drawing

  floors() {
    const floors = new Map(this.snapshot.floors.map((f) => [f.level, { ...f }]));
    for (const s of this.snapshot.spaces) {
      const f = floors.get(s.floor) ?? { level: s.floor, name: t("floor.level", { n: s.floor }), width: 0, height: 0 };
      f.width = Math.max(f.width, s.x + s.width);
      f.height = Math.max(f.height, s.y + s.height);
      floors.set(s.floor, f);
    }
    return [...floors.values()].sort((a, b) => a.level - b.level);
  }

  draw() {
    const focused = document.activeElement?.dataset?.space;
    const scroll = this.container.querySelector(".plan-scroll")?.scrollLeft ?? 0;
    if (!this.snapshot.spaces.length) {
      this.container.replaceChildren(h("p", { text: t("floor.empty") }));
      return;
    }
    const zoomBar = h("div", { class: "zoom", role: "group", "aria-label": t("floor.zoom") },
      h("button", { type: "button", class: "secondary", "aria-label": t("floor.zoom_out"), text: "−", onclick: () => this.setZoom(-1) }),
      h("button", { type: "button", class: "secondary", "aria-label": t("floor.zoom_in"), text: "+", onclick: () => this.setZoom(1) }));
    const sections = this.floors().map((floor) => {
      const heading = h("h3", { id: `floor-${floor.level}`, text: floor.name });
      const plan = svg("svg", {
        viewBox: `0 0 ${floor.width} ${floor.height}`, role: "group",
        "aria-labelledby": heading.id, class: "plan", "data-level": floor.level,
      });
      plan.append(svg("rect", { class: "outline", x: 0, y: 0, width: floor.width, height: floor.height }));
      for (const space of this.snapshot.spaces.filter((s) => s.floor === floor.level)) plan.append(this.drawSpace(space));
      const holder = h("div", { class: "plan-scroll" });
      holder.append(plan);
      return h("section", { class: "floor" }, heading, holder);
    });
    this.container.replaceChildren(zoomBar, ...sections);
    this.applyZoom();
    for (const s of this.snapshot.spaces) { this.place(s); this.paint(s); }
    for (const el of this.container.querySelectorAll(".plan-scroll")) el.scrollLeft = scroll;
    if (focused) this.container.querySelector(`[data-space="${focused}"]`)?.focus();
  }

  setZoom(step) {
    this.zoom = Math.min(ZOOMS.length - 1, Math.max(0, this.zoom + step));
    this.applyZoom();
  }

  applyZoom() {
    for (const plan of this.container.querySelectorAll(".plan")) {
      plan.style.width = `${ZOOMS[this.zoom] * 100}%`;
    }
  }

  drawSpace(space) {
    const g = svg("g", { class: "space", tabindex: 0, role: "button", "data-space": space.id });
    g.append(svg("title"), svg("rect", { rx: 0.6 }), svg("text", { class: "name" }), svg("text", { class: "status" }));
    g.addEventListener("click", () => { if (!this.dragged) this.onSelect(this.space(space.id)); });
    g.addEventListener("keydown", (event) => this.onKey(event, space.id));
    if (this.editable) this.enableDrag(g, space.id);
    return g;
  }

  /** Position and label sizes (on move or resize). */
  place(space) {
    const g = this.container.querySelector(`[data-space="${space.id}"]`);
    if (!g) return;
    const rect = g.querySelector("rect");
    for (const k of ["x", "y", "width", "height"]) rect.setAttribute(k, space[k]);
    const size = Math.min(2.2, Math.max(1.3, space.height / 4.5));
    const cx = space.x + space.width / 2;
    const cy = space.y + space.height / 2;
    const name = g.querySelector(".name");
    Object.entries({ x: cx, y: cy - size * 0.45, "font-size": size }).forEach(([k, v]) => name.setAttribute(k, v));
    name.textContent = space.name;
    // A long name is squeezed to the space's width instead of spilling over its neighbours.
    name.removeAttribute("textLength");
    const room = space.width - 1;
    if (space.name.length * size * 0.55 > room) {
      name.setAttribute("textLength", room);
      name.setAttribute("lengthAdjust", "spacingAndGlyphs");
    }
    const status = g.querySelector(".status");
    Object.entries({ x: cx, y: cy + size * 0.85, "font-size": size * 0.85 }).forEach(([k, v]) => status.setAttribute(k, v));
  }

  paint(space) {
    const g = this.container.querySelector(`[data-space="${space.id}"]`);
    if (!g) return;
    const dim = this.highlight && !this.highlight.has(space.id);
    g.setAttribute("class", `space ${space.status}${space.id === this.selectedId ? " selected" : ""}${dim ? " dim" : ""}`);
    g.dataset.status = space.status;
    const label = t(`status.${space.status}`);
    // The button's name is its visible text (name, status); the rest is its description.
    const icon = svg("tspan", { "aria-hidden": "true" });
    icon.textContent = `${STATUS_ICON[space.status] || ""} `;
    g.querySelector(".status").replaceChildren(icon, label);
    const until = space.until && space.status !== "free" ? ` ${t("floor.until", { time: fmt.time(space.until, this.zone()) })}` : "";
    g.querySelector("title").textContent = `${t(`type.${space.type}`)}, ${t("floor.seats", { n: space.capacity })}${until}`;
  }

  // ---------------------------------------------------------------- keyboard and dragging

  onKey(event, id) {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      this.onSelect(this.space(id));
      return;
    }
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (this.editable && moves[event.key]) {
      event.preventDefault();
      const space = this.space(id);
      const [dx, dy] = moves[event.key];
      this.moveTo(space, space.x + dx, space.y + dy);
      this.onMove(space, space.x, space.y);
    }
  }

  moveTo(space, x, y) {
    const floor = this.floors().find((f) => f.level === space.floor);
    space.x = Math.max(0, Math.min(Math.round(x), floor.width - space.width));
    space.y = Math.max(0, Math.min(Math.round(y), floor.height - space.height));
    this.place(space);
  }

  enableDrag(g, id) {
    g.addEventListener("pointerdown", (event) => {
      const plan = g.ownerSVGElement;
      const space = this.space(id);
      const toPlan = (e) => {
        const point = new DOMPoint(e.clientX, e.clientY).matrixTransform(plan.getScreenCTM().inverse());
        return [point.x, point.y];
      };
      const [startX, startY] = toPlan(event);
      const origin = [space.x, space.y];
      this.dragged = false;
      g.setPointerCapture(event.pointerId);
      const move = (e) => {
        const [x, y] = toPlan(e);
        if (Math.abs(x - startX) + Math.abs(y - startY) > 0.5) this.dragged = true;
        this.moveTo(space, origin[0] + x - startX, origin[1] + y - startY);
      };
      const up = () => {
        g.removeEventListener("pointermove", move);
        g.removeEventListener("pointerup", up);
        if (this.dragged && (space.x !== origin[0] || space.y !== origin[1])) this.onMove(space, space.x, space.y);
        setTimeout(() => { this.dragged = false; }, 0);
      };
      g.addEventListener("pointermove", move);
      g.addEventListener("pointerup", up);
    });
  }
}
