// Manager console · booking rules of the location: the booking grid and lengths, check-in, how
// long managers have to approve a request, how long a waitlist offer holds its slot, and the
// per-member quotas (empty: no limit). Saved with PATCH /manage/locations/{id} (merged).

import { api, h } from "./core.js";
import { t } from "./i18n.js";

// [field, min, max, may be empty (a quota: no limit)]
const GROUPS = {
  "rules.booking": [["granularity_minutes", 1, 1440], ["min_minutes", 1, 525600], ["max_minutes", 1, 525600], ["max_days_ahead", 0, 3650], ["check_in_early_minutes", 0, 1440]],
  "rules.approvals": [["approval_hours", 1, 720], ["waitlist_offer_minutes", 1, 1440]],
  "rules.quotas": [["max_hours_per_week", 1, 168, true], ["max_concurrent_holds", 1, 1000, true], ["max_bookings_ahead", 1, 10000, true]],
};
let view = { panel: null, ctx: null };

export async function render(panel, ctx) {
  view = { panel, ctx };
  const rules = ctx.location.booking_rules;
  const form = h("form", { id: "rules-form" },
    ...Object.entries(GROUPS).map(([legend, fields]) => h("fieldset", { class: "rules" },
      h("legend", { text: t(legend) }),
      legend === "rules.quotas" ? h("p", { class: "hint", text: t("rules.quota_hint") }) : null,
      h("div", { class: "fields" }, ...fields.map(([name, min, max, optional]) => h("p", { class: "field" },
        h("label", { for: `rule-${name}`, text: t(`rules.${name}`) }),
        h("input", { id: `rule-${name}`, name, type: "number", min, max, inputmode: "numeric", required: !optional, value: rules[name] ?? "" })))),
      legend === "rules.booking" ? h("label", { class: "check" },
        h("input", { id: "rule-check_in_needs_presence", name: "check_in_needs_presence", type: "checkbox", checked: rules.check_in_needs_presence }),
        t("rules.check_in_needs_presence")) : null)),
    h("div", { class: "actions" }, h("button", { type: "submit", text: t("rules.save") })));
  form.addEventListener("submit", save);
  panel.replaceChildren(form);
}

async function save(event) {
  event.preventDefault();
  const form = event.target;
  const body = { check_in_needs_presence: form.querySelector("#rule-check_in_needs_presence").checked };
  for (const [name, , , optional] of Object.values(GROUPS).flat()) {
    const raw = form.querySelector(`#rule-${name}`).value.trim();
    if (raw === "" && optional) body[name] = 0; // 0 removes a quota
    else if (raw !== "") body[name] = Number(raw);
  }
  try {
    await api(`/manage/locations/${view.ctx.location.id}`, { method: "PATCH", body: { booking_rules: body } });
    await view.ctx.reloadLocation();
    view.ctx.say(t("common.saved"), "success");
    await render(view.panel, view.ctx);
  } catch (err) { view.ctx.say(view.ctx.errorText(err), "error"); }
}
