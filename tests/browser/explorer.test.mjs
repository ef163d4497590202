// The /ui explorer, used as a person would: Debian's chromium, driven by
// playwright-core, against a real aipdp on loopback (EXPLORER_URL).
// Screenshots go to target/browser/ on every run.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const base = process.env.EXPLORER_URL;
// The same service with API tokens on, and one of its tokens.
const tokenBase = process.env.EXPLORER_TOKEN_URL;
const token = process.env.EXPLORER_TOKEN;
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const shots = join(root, "target", "browser");

let context;
let page;
let profile;
const offOrigin = [];
const problems = [];

before(async () => {
  assert.ok(base && base.startsWith("http://127.0.0.1:"), "EXPLORER_URL names aipdp on loopback");
  assert.ok(tokenBase && tokenBase.startsWith("http://127.0.0.1:") && token, "EXPLORER_TOKEN_URL and EXPLORER_TOKEN are set");
  mkdirSync(shots, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), "aipdp-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run",
    ],
    viewport: { width: 1440, height: 1000 },
  });
  // The page must need nothing but its own origin: record and refuse the rest.
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(`${base}/`) || url.startsWith(`${tokenBase}/`) || url.startsWith("data:")) return route.continue();
    offOrigin.push(url);
    return route.abort();
  });
  page = context.pages()[0] || (await context.newPage());
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
});

after(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const gridFor = (region, residency) =>
  page.waitForSelector(`#grid[data-region="${region}"][data-residency="${residency}"]`, { timeout: 15000 });
const modeHeader = (mode) => page.locator(`#grid th.mode[data-mode="${mode}"]`);

test("SG with strict residency: only zmo is eligible, and the grid says why", async () => {
  await page.goto(`${base}/ui`);
  await gridFor("EU", "preferred");
  await page.selectOption("#region", "SG");
  await page.selectOption("#residency", "strict");
  await gridFor("SG", "strict");

  assert.equal(await modeHeader("zmo").getAttribute("data-eligible"), "true");
  for (const mode of ["zm_plus", "federated"]) {
    const header = modeHeader(mode);
    assert.equal(await header.getAttribute("data-eligible"), "false", mode);
    const reason = await header.locator(".mode-reason").innerText();
    assert.equal(reason, `mode ${mode} is not offered in region SG on the local cluster`);
    assert.match(await header.getAttribute("title"), /is not offered in region `SG`/);
    assert.match(await header.innerText(), /not eligible/);
  }
  assert.equal(await modeHeader("zmo").getAttribute("data-default"), "true");

  // A refused cell explains itself on click, and on keyboard focus.
  const refused = page.locator('.cell[data-mode="zm_plus"][data-feature="meeting_summary"]');
  assert.equal(await refused.getAttribute("data-supported"), "false");
  await refused.click();
  assert.match(await page.locator("#detail").innerText(), /mode_not_offered: mode zm_plus is not offered in region SG/);
  // Tab moves to the next cell, whose reason follows the focus.
  await page.keyboard.press("Tab");
  assert.match(await page.locator("#detail").innerText(), /mode federated is not offered in region SG/);
  const served = page.locator('.cell[data-mode="zmo"][data-feature="meeting_summary"]');
  await served.focus();
  assert.equal(await served.getAttribute("aria-pressed"), "true");
  assert.match(await page.locator("#detail").innerText(), /Route: zoom zoom-summary-2 · SG/);

  // The decision and the what-if follow the same choice.
  assert.match(await page.locator("#decision").innerText(), /Mode\s+zmo/);
  assert.match(await page.locator("#compare").innerText(), /zm_plus is not eligible for this tenant/);
  await page.screenshot({ path: join(shots, "explorer-sg-strict.png"), fullPage: false });
});

test("switching to EU makes zm_plus the default, with an explain trace", async () => {
  await page.selectOption("#region", "EU");
  await gridFor("EU", "strict");
  const zmPlus = modeHeader("zm_plus");
  assert.equal(await zmPlus.getAttribute("data-default"), "true");
  assert.equal(await zmPlus.getAttribute("data-eligible"), "true");
  assert.match(await zmPlus.innerText(), /default/);
  assert.equal(await modeHeader("zmo").getAttribute("data-default"), "false");
  assert.match(await page.locator("#decision").innerText(), /Mode\s+zm_plus/);
  const trace = await page.locator("#trace li").allInnerTexts();
  assert.ok(trace.some((t) => t.startsWith("default_mode: zm_plus is the default mode of region EU")), trace.join("\n"));
  // The catalog browser shows the changelog timeline.
  assert.match(await page.locator("#catalog").innerText(), /Changelog \(5\)/);
  await page.screenshot({ path: join(shots, "explorer.png"), fullPage: false });
  await page.screenshot({ path: join(shots, "explorer-full.png"), fullPage: true });
});

test("a high-exposure sector adds its warning; the catalog lists profiles, sectors and add-ons", async () => {
  await page.selectOption("#sector", "healthcare");
  await page.waitForFunction(() => document.getElementById("decision").textContent.includes("high_exposure_sector"), null, { timeout: 15000 });
  await page.selectOption("#sector", "");
  await page.waitForFunction(() => !document.getElementById("decision").textContent.includes("high_exposure_sector"), null, { timeout: 15000 });
  const text = await page.locator("#catalog").innerText();
  for (const part of [/Providers \(5\)/, /Add-ons \(1\)/, /Sectors \(\d+\)/, /Tenant profiles \(\d+\)/]) assert.match(text, part);
  await page.locator("#catalog summary", { hasText: /^Tenant profiles/ }).click();
  assert.match(await page.locator("#catalog").innerText(), /acme-eu\s+EU\s+local\s+strict/);
});

test("the API reference renders the OpenAPI document offline", async () => {
  await page.goto(`${base}/ui/api`);
  await page.waitForSelector("#operations section", { timeout: 15000 });
  const text = await page.locator("#operations").innerText();
  for (const path of ["/v1/decisions/compare", "/v1/eligibility", "/v1/catalog/changelog"]) {
    assert.ok(text.includes(path), `${path} is listed`);
  }
  await page.click('a[href="#schema-CompareBody"]');
  // The section opens on the hash change, after the click returns.
  await page.waitForFunction(() => document.getElementById("schema-CompareBody").open, null, { timeout: 5000 });
  assert.equal(await page.locator("#schema-CompareBody").getAttribute("open"), "");
  await page.screenshot({ path: join(shots, "api-reference.png"), fullPage: false });
});

test("the API reference shows shared refusals and who needs a token", async () => {
  const decisions = page.locator("#op-post--v1-decisions");
  const text = await decisions.innerText();
  assert.match(text, /503 Shed: `limits.max_concurrent_requests` requests are in progress — application\/problem\+json ProblemBody — headers Retry-After/);
  assert.match(text, /401 API tokens are configured and the request has none/);
  assert.match(text, /Bearer token: api_token \(only when the service has tokens configured\)/);
  assert.doesNotMatch(await page.locator("#op-get--healthz").innerText(), /Bearer token/);
});

test("an empty feature choice marks the results out of date", async () => {
  await page.goto(`${base}/ui`);
  await gridFor("EU", "preferred");
  assert.equal(await page.locator("#main.stale").count(), 0);
  await page.click("#features-none");
  await page.waitForSelector("#main.stale");
  assert.equal(await page.locator("#status").innerText(), "Choose at least one feature.");
  await page.click("#features-all");
  await page.waitForSelector("#main:not(.stale)");
});

test("on a phone-sized screen the page is one column and never scrolls sideways", async () => {
  await page.setViewportSize({ width: 375, height: 740 });
  try {
    await page.goto(`${base}/ui`);
    await gridFor("EU", "preferred");
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 375, `the page is ${width}px wide`);
    // The controls scroll away with the page instead of covering the results.
    assert.equal(await page.locator("#tenant").evaluate((el) => getComputedStyle(el).position), "static");
    await page.screenshot({ path: join(shots, "explorer-375.png"), fullPage: false });
    await page.goto(`${base}/ui/api`);
    await page.waitForSelector("#operations section", { timeout: 15000 });
    const apiWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(apiWidth <= 375, `the API reference is ${apiWidth}px wide`);
  } finally {
    await page.setViewportSize({ width: 1440, height: 1000 });
  }
});

test("with API tokens on, the explorer loads, asks for a token and works with it", async () => {
  // Its own tab: the refused calls log resource errors in the console.
  const tab = await context.newPage();
  try {
    await tab.goto(`${tokenBase}/ui`);
    await tab.waitForSelector("#token-form:not([hidden])", { timeout: 15000 });
    assert.equal(await tab.locator("#token-problem").innerText(), "This service needs an API token (auth.api_tokens).");
    assert.match(await tab.locator("#status").innerText(), /^The catalog could not be loaded: \/headers\/authorization: send a bearer token/);
    // A wrong token is refused, and said to be.
    await tab.fill("#token", "not-the-token-at-all-0000");
    await tab.click("#token-form button");
    await tab.waitForSelector("#token-form:not([hidden])");
    await tab.waitForFunction(() => document.getElementById("token-problem").textContent.startsWith("The token was refused"));
    // The right one loads the catalog and decides.
    await tab.fill("#token", token);
    await tab.click("#token-form button");
    await tab.waitForSelector('#grid[data-region="EU"][data-residency="preferred"]', { timeout: 15000 });
    assert.equal(await tab.locator("#token-form").isHidden(), true);
    assert.match(await tab.locator("#decision").innerText(), /Mode\s+zm_plus/);
  } finally {
    await tab.close();
  }
});

test("nothing was fetched from elsewhere and no script failed", () => {
  assert.deepEqual(offOrigin, []);
  assert.deepEqual(problems, []);
});
