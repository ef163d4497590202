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
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const shots = join(root, "target", "browser");

let context;
let page;
let profile;
const offOrigin = [];
const problems = [];

before(async () => {
  assert.ok(base && base.startsWith("http://127.0.0.1:"), "EXPLORER_URL names aipdp on loopback");
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
    if (url.startsWith(base) || url.startsWith("data:")) return route.continue();
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
  assert.match(await page.locator("#catalog").innerText(), /Changelog \(4\)/);
  await page.screenshot({ path: join(shots, "explorer.png"), fullPage: false });
  await page.screenshot({ path: join(shots, "explorer-full.png"), fullPage: true });
});

test("the API reference renders the OpenAPI document offline", async () => {
  await page.goto(`${base}/ui/api`);
  await page.waitForSelector("#operations section", { timeout: 15000 });
  const text = await page.locator("#operations").innerText();
  for (const path of ["/v1/decisions/compare", "/v1/eligibility", "/v1/catalog/changelog"]) {
    assert.ok(text.includes(path), `${path} is listed`);
  }
  await page.click('a[href="#schema-CompareBody"]');
  assert.equal(await page.locator("#schema-CompareBody").getAttribute("open"), "");
  await page.screenshot({ path: join(shots, "api-reference.png"), fullPage: false });
});

test("nothing was fetched from elsewhere and no script failed", () => {
  assert.deepEqual(offOrigin, []);
  assert.deepEqual(problems, []);
});
