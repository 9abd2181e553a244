// node --test: the notice choices the Request screen offers and sends, and the status link it shows.
import { test } from "node:test";
import assert from "node:assert/strict";
import { emailNoticesOn, notifyValue, statusLink } from "../public/js/notices.js";
import { checkEmail } from "../public/js/validation.js";

test("e-mail notices are offered only when the gateway lists the channel", () => {
  assert.equal(emailNoticesOn({ notices: ["email", "push"] }), true);
  assert.equal(emailNoticesOn({ notices: ["push"] }), false);
  assert.equal(emailNoticesOn({ notices: [] }), false);
  assert.equal(emailNoticesOn({}), false);             // an older gateway's config.json
  assert.equal(emailNoticesOn({ notices: "email" }), false);
  assert.equal(emailNoticesOn(null), false);
});

test("notify=email is sent only when ticked and offered", () => {
  assert.equal(notifyValue({ notices: ["email"] }, { email: true }), "email");
  assert.equal(notifyValue({ notices: ["email"] }, { email: false }), "");
  assert.equal(notifyValue({ notices: [] }, { email: true }), "");
});

test("the e-mail field: optional, unless notices by e-mail are asked for", () => {
  assert.equal(checkEmail(""), null);
  assert.equal(checkEmail("  ", { notify: true }), "validation.notifyEmail");
  assert.equal(checkEmail("ada@example.org", { notify: true }), null);
  assert.equal(checkEmail("not an address", { valid: false }), "validation.email");
  assert.equal(checkEmail("not an address", { valid: false, notify: true }), "validation.email");
});

test("the status link is shown only when it is a web address", () => {
  assert.equal(statusLink({ status_url: "https://311.example.gov/r/abc" }), "https://311.example.gov/r/abc");
  assert.equal(statusLink({ status_url: "http://127.0.0.1:5000/r/abc" }), "http://127.0.0.1:5000/r/abc");
  assert.equal(statusLink({ status_url: "javascript:alert(1)" }), null);
  assert.equal(statusLink({ status_url: "/r/abc" }), null);
  assert.equal(statusLink({ status_url: 42 }), null);
  assert.equal(statusLink({}), null);
  assert.equal(statusLink(undefined), null);
});
