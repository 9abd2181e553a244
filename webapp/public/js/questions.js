// A service's questions (its definition's attributes) as form fields, one control per datatype.
import { t } from "./i18n.js";
import { checkAnswer, MAX_STRING, MAX_TEXT } from "./validation.js";

function element(tag, attributes = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value == null) continue;
    if (name === "text") el.textContent = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  el.append(...children.filter(Boolean));
  return el;
}

function requiredMark(attribute) {
  return attribute.required ? element("span", { class: "required", text: ` (${t("request.required")})` }) : null;
}

function control(attribute, id, described) {
  const common = { id, name: `attribute[${attribute.code}]`, "aria-describedby": described,
    "aria-required": attribute.required ? "true" : null };
  switch (attribute.datatype) {
    case "text":
      return element("textarea", { ...common, rows: 3, maxlength: MAX_TEXT });
    case "number":
      return element("input", { ...common, inputmode: "decimal", autocomplete: "off" });
    case "datetime":
      return element("input", { ...common, type: "datetime-local" });
    case "singlevaluelist": {
      const select = element("select", common, element("option", { value: "", text: t("request.choose") }));
      for (const value of attribute.values) select.append(element("option", { value: value.key, text: value.name }));
      return select;
    }
    default:
      return element("input", { ...common, maxlength: MAX_STRING, autocomplete: "off" });
  }
}

function field(attribute) {
  const id = `attr-${attribute.code}`;
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const hint = attribute.datatype_description ? element("p", { class: "hint", id: hintId, text: attribute.datatype_description }) : null;
  const error = element("p", { class: "field-error", id: errorId, hidden: true });
  const described = [hint && hintId, errorId].filter(Boolean).join(" ");
  if (attribute.variable === false) {
    return element("div", { class: "field info" }, element("p", { text: attribute.description }));
  }
  if (attribute.datatype === "multivaluelist") {
    const boxes = attribute.values.map((value, i) => element("div", { class: "choice" },
      element("input", { type: "checkbox", id: `${id}-${i}`, name: `attribute[${attribute.code}][]`, value: value.key }),
      element("label", { for: `${id}-${i}`, text: value.name })));
    return element("fieldset", { class: "field", id, "aria-describedby": described, "data-code": attribute.code },
      element("legend", { text: attribute.description }, requiredMark(attribute)), hint, error, ...boxes);
  }
  return element("div", { class: "field", "data-code": attribute.code },
    element("label", { for: id, text: attribute.description }, requiredMark(attribute)),
    hint, error, control(attribute, id, described));
}

/** Render the questions into `container`; returns {answers(), validate()}. */
export function renderQuestions(container, attributes) {
  container.replaceChildren();
  const sorted = [...attributes].sort((a, b) => a.order - b.order);
  if (sorted.length) container.append(element("h3", { text: t("request.questions") }));
  for (const attribute of sorted) container.append(field(attribute));

  const valueOf = (attribute) => {
    const id = `attr-${attribute.code}`;
    if (attribute.datatype === "multivaluelist") {
      return [...container.querySelectorAll(`#${CSS.escape(id)} input:checked`)].map((box) => box.value);
    }
    const el = container.querySelector(`#${CSS.escape(id)}`);
    return el ? el.value : "";
  };

  return {
    /** {code: value or [values]} of the questions answered. */
    answers() {
      const found = {};
      for (const attribute of sorted) {
        if (attribute.variable === false) continue;
        const value = valueOf(attribute);
        if (Array.isArray(value) ? value.length : String(value).trim()) found[attribute.code] = value;
      }
      return found;
    },
    /** Mark each bad answer; returns [{id, message}] for the error summary. */
    validate() {
      const problems = [];
      for (const attribute of sorted) {
        const id = `attr-${attribute.code}`;
        const problem = checkAnswer(attribute, valueOf(attribute));
        const error = container.querySelector(`#${CSS.escape(id)}-error`);
        const input = attribute.datatype === "multivaluelist"
          ? container.querySelector(`#${CSS.escape(id)}-0`) : container.querySelector(`#${CSS.escape(id)}`);
        if (!error) continue;
        error.hidden = !problem;
        error.textContent = problem ? t(problem, { question: attribute.description }) : "";
        input?.setAttribute("aria-invalid", problem ? "true" : "false");
        if (problem) problems.push({ id: input?.id || id, message: `${attribute.description}: ${t(problem)}` });
      }
      return problems;
    },
  };
}
