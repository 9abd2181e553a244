// node --test: the browser's answer checks agree with the gateway's rules (docs/api.md).
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkAnswer } from "../public/js/validation.js";

const list = (datatype, required = false) => ({ datatype, required, values: [{ key: "a" }, { key: "b" }] });

test("required answers", () => {
  assert.equal(checkAnswer({ datatype: "string", required: true }, "  "), "validation.required");
  assert.equal(checkAnswer({ datatype: "string", required: false }, ""), null);
  assert.equal(checkAnswer({ datatype: "string", required: true, variable: false }, ""), null);
  assert.equal(checkAnswer(list("multivaluelist", true), []), "validation.required");
});

test("strings are one line, texts may break", () => {
  assert.equal(checkAnswer({ datatype: "string" }, "two\nlines"), "validation.oneLine");
  assert.equal(checkAnswer({ datatype: "text" }, "two\nlines"), null);
  assert.equal(checkAnswer({ datatype: "string" }, "x".repeat(1001)), "validation.tooLong");
  assert.equal(checkAnswer({ datatype: "text" }, "x".repeat(4001)), "validation.tooLong");
});

test("numbers in plain decimal notation", () => {
  for (const ok of ["3", "-2", "2.5", ".5", "1e3"]) assert.equal(checkAnswer({ datatype: "number" }, ok), null, ok);
  for (const bad of ["1_000", "0x10", "nan", "inf", "3 cars", "1,5"]) {
    assert.equal(checkAnswer({ datatype: "number" }, bad), "validation.number", bad);
  }
});

test("dates and date-times", () => {
  assert.equal(checkAnswer({ datatype: "datetime" }, "2026-03-01"), null);
  assert.equal(checkAnswer({ datatype: "datetime" }, "2026-03-01T14:30"), null);
  assert.equal(checkAnswer({ datatype: "datetime" }, "yesterday"), "validation.datetime");
});

test("list answers are keys of the definition", () => {
  assert.equal(checkAnswer(list("singlevaluelist"), "a"), null);
  assert.equal(checkAnswer(list("singlevaluelist"), "c"), "validation.choice");
  assert.equal(checkAnswer(list("multivaluelist"), ["a", "b"]), null);
  assert.equal(checkAnswer(list("multivaluelist"), ["a", "z"]), "validation.choice");
});

