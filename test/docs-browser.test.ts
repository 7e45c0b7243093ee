import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Locator, type Page } from 'playwright-core'
import { startService, underTest, type Service } from './support/process'

// Debian's Chromium (apt-get install chromium); CI installs it, elsewhere this file is skipped.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

// Scalar shows some of its tools only where it takes the page for local (its isLocalUrl: localhost,
// 127.0.0.1, [::1], 0.0.0.0 and the .test, .example, .invalid and .localhost TLDs), others only
// elsewhere. Chromium resolves this name to the service, so the page is also seen as a deployed one.
const PUBLIC_HOST = 'users-api.internal'
const WHERE = ['127.0.0.1', PUBLIC_HOST] as const

// Scalar 1.72.1's features that need the internet or a Scalar account, by what the page shows of them.
const ONLINE_FEATURES: Record<string, (page: Page) => Locator> = {
  // Scalar's AI agent: the sidebar button, and the prompt under each operation's example request.
  'Ask AI': (page) => page.getByText('Ask AI', { exact: true }),
  'Ask AI Agent': (page) => page.getByText('Ask AI Agent', { exact: true }),
  // Registers the document on dashboard.scalar.com, for VS Code or Cursor.
  'Generate MCP': (page) => page.getByText('Generate MCP', { exact: true }),
  'VS Code': (page) => page.getByText('VS Code', { exact: true }),
  'Cursor': (page) => page.getByText('Cursor', { exact: true }),
  // The "Developer Tools" bar: Configure, Share (uploads the document to Scalar), Deploy (on Scalar).
  'Developer Tools': (page) => page.getByText('Developer Tools', { exact: true }),
  'Configure': (page) => page.getByText('Configure', { exact: true }),
  'Share': (page) => page.getByText('Share', { exact: true }),
  'Deploy': (page) => page.getByText('Deploy', { exact: true }),
  // client.scalar.com: in the sidebar where "Generate MCP" is not, and in the "Test Request" client.
  'Open API Client': (page) => page.getByText('Open API Client', { exact: true }),
  // A link to www.scalar.com, in the sidebar.
  'Powered by Scalar': (page) => page.getByText('Powered by Scalar', { exact: true }),
}

/** The features of ONLINE_FEATURES that `page` shows. */
const onlineFeaturesShown = async (page: Page) => {
  const shown: string[] = []
  for (const [name, locate] of Object.entries(ONLINE_FEATURES)) if ((await locate(page).filter({ visible: true }).count()) > 0) shown.push(name)
  return shown
}

/** Where the links `page` shows lead, when not to the service itself (nor to its blob: URLs, nor mailto:). */
const outboundLinksShown = async (page: Page, origin: string) => {
  const hrefs = await page
    .locator('a[href]')
    .filter({ visible: true })
    .evaluateAll((links) => links.map((link) => link.getAttribute('href')!))
  return hrefs
    .map((href) => new URL(href, page.url()).href)
    .filter((href) => !href.startsWith(`${origin}/`) && !href.startsWith(`blob:${origin}/`) && !href.startsWith('mailto:'))
}

setDefaultTimeout(60_000)

const ADMIN = { ADMIN_EMAIL: 'docs-admin@example.com', ADMIN_PASSWORD: 'violet harbour lantern 42 quietly' }

describe.skipIf(!existsSync(CHROMIUM))(`/docs in headless Chromium, offline (${underTest})`, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'users-api-docs-'))
  let service: Service
  let browser: Browser

  /** The service's origin, reached through `host`. */
  const originAt = (host: (typeof WHERE)[number]) => {
    const url = new URL(service.url)
    url.hostname = host
    return url.origin
  }

  /** A new page (its own context) at `origin`/docs, with every URL it requests in `requested`. */
  const openDocs = async (origin: string) => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
    const requested: string[] = []
    page.on('request', (request) => void requested.push(request.url()))
    const response = await page.goto(`${origin}/docs`)
    expect(response?.status()).toBe(200)
    const outside = () => requested.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:') && !url.startsWith('blob:'))
    return { page, requested, outside }
  }

  beforeAll(async () => {
    service = await startService({ DATABASE_URL: undefined, DATA_DIR: dataDir, AUTH: 'on', ...ADMIN })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // As this machine requires: no sandbox as root, and no background traffic of Chromium's own.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--host-resolver-rules=MAP ${PUBLIC_HOST} 127.0.0.1`,
      ],
    })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await service?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  test.each(['/docs', '/docs/'])('%s renders the users operations, with no request leaving the service', async (path) => {
    const page = await browser.newPage()
    const requested: string[] = []
    const errors: string[] = []
    page.on('request', (request) => void requested.push(request.url()))
    page.on('console', (message) => void (message.type() === 'error' && errors.push(message.text())))
    const response = await page.goto(`${service.url}${path}`)
    expect(response?.status()).toBe(200)
    for (const summary of ['Create a user', 'List users by id, filtered, a page at a time', 'Read a user', 'Delete a user'])
      await page.getByText(summary, { exact: true }).first().waitFor({ state: 'visible', timeout: 30_000 })
    await page.screenshot({ path: join(tmpdir(), 'users-api-docs.png'), fullPage: false })
    const outside = requested.filter((url) => !url.startsWith(`${service.url}/`) && !url.startsWith('data:') && !url.startsWith('blob:'))
    expect(outside).toEqual([])
    expect(requested).toContain(`${service.url}/docs/scalar.js`)
    expect(requested).toContain(`${service.url}/openapi.json`)
    // Nothing failed to load (a missing /favicon.ico did, asked for once the page had loaded) and
    // the page reported no error.
    await page.waitForLoadState('load')
    await Bun.sleep(1000)
    expect(errors).toEqual([])
    await page.close()
  })

  test.each(WHERE)('at %s, shows nothing that needs the internet or a Scalar account', async (host) => {
    const origin = originAt(host)
    const { page, requested, outside } = await openDocs(origin)
    await page.getByText('Create a user', { exact: true }).first().waitFor({ state: 'visible', timeout: 30_000 })
    await page.getByRole('button', { name: 'Test Request (post /users)', exact: true }).waitFor({ state: 'visible', timeout: 30_000 })
    await page.screenshot({ path: join(tmpdir(), `users-api-docs-${host}.png`), fullPage: false })
    expect(await onlineFeaturesShown(page)).toEqual([])
    expect(await outboundLinksShown(page, origin)).toEqual([])
    // The one link to scalar.com left in the page is "Powered by Scalar", which no option removes:
    // customCss hides it.
    const scalarLinks = page.locator('a[href*="scalar.com"]')
    expect(await scalarLinks.evaluateAll((links) => links.map((link) => link.getAttribute('href')))).toEqual(['https://www.scalar.com'])
    expect(await scalarLinks.isVisible()).toBe(false)
    expect(outside()).toEqual([])
    expect(requested).toContain(`${origin}/docs/scalar.js`)
    expect(requested).toContain(`${origin}/openapi.json`)
    await page.close()
  })

  test.each(WHERE)('at %s, "Test Request" on GET / sends it to the service, which answers 200', async (host) => {
    const origin = originAt(host)
    const { page, outside } = await openDocs(origin)
    await page.getByRole('link', { name: 'health', exact: true }).click({ timeout: 30_000 })
    await page.getByText('Liveness: the process answers', { exact: true }).first().waitFor({ state: 'visible' })
    await page.getByRole('button', { name: 'Test Request (get /)', exact: true }).click()
    const send = page.getByRole('button', { name: 'Send get request to /' })
    const [response] = await Promise.all([
      page.waitForResponse((response) => response.url() === `${origin}/` && response.request().method() === 'GET'),
      send.click(),
    ])
    expect(response.status()).toBe(200)
    expect(await response.json()).toEqual({ status: 'ok' })
    await page.getByText('200 OK', { exact: true }).waitFor({ state: 'visible' })
    await page.screenshot({ path: join(tmpdir(), `users-api-docs-try-${host}.png`), fullPage: false })
    // The service logged that very request (the log line follows the response: wait for it).
    const requestId = response.headers()['x-request-id']
    expect(requestId).toBeString()
    const logged = async () => {
      for (let tries = 0; tries < 50; tries++) {
        const line = service.lines.map((line) => JSON.parse(line)).find((event) => event.message === 'request' && event.request_id === requestId)
        if (line) return line
        await Bun.sleep(100)
      }
    }
    expect(await logged()).toMatchObject({ method: 'GET', route: '/', status: 200 })
    expect(await onlineFeaturesShown(page)).toEqual([])
    // The status is a link to MDN's page on it, which no option removes (and hiding it would hide the status).
    expect(await outboundLinksShown(page, origin)).toEqual(['https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/200'])
    expect(outside()).toEqual([])
    await page.close()
  })

  test('logs in through the page’s auth dialog (OAuth 2.0 password flow), then "Test Request" on GET /users/me answers 200; "Create a user" brings no Idempotency-Key', async () => {
    const origin = originAt('127.0.0.1')
    const { page, outside } = await openDocs(origin)
    await page.getByText('Create a user', { exact: true }).first().waitFor({ state: 'visible', timeout: 30_000 })
    await page.getByRole('button', { name: 'Select Auth Type' }).click()
    await page.getByRole('option').filter({ hasText: 'oauth2' }).first().click()
    await page.keyboard.press('Escape')
    // Scalar's fields: an input, or a code editor (contenteditable) named by its label.
    const fill = async (label: string, value: string) => {
      const id = await page.locator('label', { hasText: new RegExp(`^${label}$`) }).first().getAttribute('for')
      const box = page.locator(`[id="${id}"]`)
      if ((await box.evaluate((element) => element.tagName)) === 'INPUT') return box.fill(value)
      await box.locator('[contenteditable]').first().focus()
      await page.keyboard.type(value)
    }
    await fill('Username', ADMIN.ADMIN_EMAIL)
    await fill('Password', ADMIN.ADMIN_PASSWORD)
    const [login] = await Promise.all([
      page.waitForResponse((response) => response.url() === `${origin}/auth/token`),
      page.getByRole('button', { name: 'Authorize', exact: true }).click(),
    ])
    expect(login.status()).toBe(200)
    expect(login.request().postData()).toStartWith('grant_type=password&username=docs-admin%40example.com&password=')
    await page.getByText('Read a user (yourself)', { exact: true }).first().click()
    await page.getByRole('button', { name: 'Test Request (get /users/me)', exact: true }).click()
    const [me] = await Promise.all([
      page.waitForResponse((response) => response.url() === `${origin}/users/me` && response.request().method() === 'GET'),
      page.getByRole('button', { name: 'Send get request to /users/me' }).click(),
    ])
    expect(me.status()).toBe(200)
    expect(await me.json()).toMatchObject({ email: ADMIN.ADMIN_EMAIL, role: 'admin' })
    expect(me.request().headers().authorization).toStartWith('Bearer ')
    await page.screenshot({ path: join(tmpdir(), 'users-api-docs-login.png'), fullPage: false })
    // "Create a user" sends no Idempotency-Key of its own: with one from the document, every user
    // made through the page would share it, and the second would get the first one's answer.
    await page.keyboard.press('Escape')
    await page.getByRole('button', { name: 'Test Request (post /users)', exact: true }).click()
    const create = async () =>
      (
        await Promise.all([
          page.waitForResponse((response) => response.url() === `${origin}/users` && response.request().method() === 'POST'),
          page.getByRole('button', { name: 'Send post request to /users' }).click(),
        ])
      )[0]
    const created = await create()
    expect(created.request().headers()['idempotency-key']).toBeUndefined()
    expect(created.status()).toBe(201)
    expect(await created.json()).toMatchObject({ name: 'Ada Lovelace', email: 'ada@example.com', role: 'user' })
    const again = await create()
    expect(again.request().headers()['idempotency-key']).toBeUndefined()
    expect(again.status()).toBe(409)
    expect(again.headers()['idempotent-replayed']).toBeUndefined()
    expect(await again.json()).toMatchObject({ status: 409, detail: 'A user with this email already exists' })
    expect(outside()).toEqual([])
    await page.close()
  })
})
