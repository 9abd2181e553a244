// node --test: the catalog search ranks the name before keywords before description, per language,
// and tolerates case, accents and typos (the services below are the shipped catalog's texts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { distance, fold, rank } from "../public/js/search.js";

const ENGLISH = [
  { service_code: "DPW-CARTS", service_name: "Abandoned Shopping Cart", group: "Graffiti & Illegal Dumping",
    keywords: "shopping cart, abandoned cart", description: "Report abandoned shopping carts on a public street." },
  { service_code: "DPW-FLOODCHANNEL", service_name: "Flood Control Channel Issue", group: "Storm Drains & Flood Control",
    keywords: "flood channel, trash in channel", description: "Trash, graffiti or damage in a flood control channel." },
  { service_code: "DPR-GRAFFITI", service_name: "Graffiti in a County Park", group: "Park Facilities",
    keywords: "park graffiti, tagging in park", description: "Report graffiti on park buildings or trails." },
  { service_code: "DPW-GRAFFITI", service_name: "Graffiti Abatement", group: "Graffiti & Illegal Dumping",
    keywords: "graffiti, tagging, vandalism", description: "Remove graffiti from public property." },
  { service_code: "DPW-POTHOLE", service_name: "Pothole", group: "Roads & Sidewalks",
    keywords: "pothole, hole in road", description: "Report a pothole in a County road." },
];
const SPANISH = [
  { service_code: "DPW-FLOODCHANNEL", service_name: "Problema en un canal de control de inundaciones",
    group: "Desagües pluviales y control de inundaciones", keywords: "canal de inundación, basura en el canal",
    description: "Basura, grafiti o daños en un canal de control de inundaciones." },
  { service_code: "DPW-CARTS", service_name: "Carrito de supermercado abandonado", group: "Grafiti y vertido ilegal",
    keywords: "carrito de supermercado, carrito abandonado", description: "Reporte carritos abandonados." },
  { service_code: "DPW-GRAFFITI", service_name: "Eliminación de grafiti", group: "Grafiti y vertido ilegal",
    keywords: "grafiti, pintas, vandalismo", description: "Quitar grafiti de propiedad pública." },
  { service_code: "DPW-POTHOLE", service_name: "Bache", group: "Calles y banquetas",
    keywords: "bache, hoyo en la calle", description: "Reporte un bache en una calle del Condado." },
];
const CHINESE = [
  { service_code: "DPW-CARTS", service_name: "被丢弃的购物车", group: "涂鸦与非法倾倒",
    keywords: "购物车, 丢弃的购物车", description: "举报公共街道上被丢弃的购物车。" },
  { service_code: "DPW-GRAFFITI", service_name: "涂鸦清除", group: "涂鸦与非法倾倒",
    keywords: "涂鸦, 乱涂乱画, 喷漆", description: "清除公共财产上的涂鸦。" },
];
const ARABIC = [
  { service_code: "DPW-CARTS", service_name: "عربة تسوق متروكة", group: "الكتابة على الجدران والإلقاء غير القانوني",
    keywords: "عربة تسوق, عربة متروكة", description: "أبلغ عن عربات التسوق المتروكة." },
  { service_code: "DPW-GRAFFITI", service_name: "إزالة الكتابة على الجدران", group: "الكتابة على الجدران والإلقاء غير القانوني",
    keywords: "غرافيتي, كتابة على الجدران, تخريب", description: "إزالة الكتابة على الجدران من الممتلكات العامة." },
];
const codes = (services, query, lang) => rank(services, query, lang).map((s) => s.service_code);

test("English: a name match comes before a group, keyword or description match", () => {
  // names first, then the cart (its group says graffiti), then the channel (only its description does)
  assert.deepEqual(codes(ENGLISH, "graffiti", "en"), ["DPW-GRAFFITI", "DPR-GRAFFITI", "DPW-CARTS", "DPW-FLOODCHANNEL"]);
  assert.equal(codes(ENGLISH, "GRAFFITI", "en")[0], "DPW-GRAFFITI");
});

test("typos are tolerated: grafitti and grafiti find Graffiti first", () => {
  assert.equal(codes(ENGLISH, "grafitti", "en")[0], "DPW-GRAFFITI");
  assert.equal(codes(ENGLISH, "grafiti", "en")[0], "DPW-GRAFFITI");
  assert.equal(codes(ENGLISH, "pothle", "en")[0], "DPW-POTHOLE");
  assert.deepEqual(codes(ENGLISH, "zzzz", "en"), []);
  assert.deepEqual(codes(ENGLISH, "hol", "en"), ["DPW-POTHOLE"]);   // three letters: a prefix, no typo
});

test("Spanish: grafiti and grafitti find Graffiti first, not the flood channel", () => {
  assert.equal(codes(SPANISH, "grafiti", "es")[0], "DPW-GRAFFITI");
  assert.equal(codes(SPANISH, "grafitti", "es")[0], "DPW-GRAFFITI");
  assert.equal(codes(SPANISH, "Grafití", "es")[0], "DPW-GRAFFITI");   // accents ignored
  assert.equal(codes(SPANISH, "bache", "es")[0], "DPW-POTHOLE");
});

test("scripts without spaces and right-to-left scripts", () => {
  assert.equal(codes(CHINESE, "涂鸦", "zh-Hans")[0], "DPW-GRAFFITI");
  assert.equal(codes(CHINESE, "购物车", "zh-Hans")[0], "DPW-CARTS");
  assert.equal(codes(ARABIC, "غرافيتي", "ar")[0], "DPW-GRAFFITI");
  assert.equal(codes(ARABIC, "عربة", "ar")[0], "DPW-CARTS");
});

test("every word must be found; an empty query keeps everything", () => {
  assert.deepEqual(codes(ENGLISH, "graffiti park", "en"), ["DPR-GRAFFITI"]);
  assert.equal(rank(ENGLISH, "  ", "en").length, ENGLISH.length);
});

test("folding and distance", () => {
  assert.equal(fold("Ñandú"), "nandu");
  assert.equal(fold("ＡＢＣ"), "abc");   // full-width letters
  assert.equal(distance("grafitti", "graffiti"), 2);
  assert.equal(distance("kitten", "sitting", 1), 2);   // stops past the limit
});
