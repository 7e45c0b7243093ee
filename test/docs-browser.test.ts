import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { startService, underTest, type Service } from './support/process'

// Debian's Chromium (apt-get install chromium); CI installs it, elsewhere this file is skipped.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

setDefaultTimeout(60_000)

describe.skipIf(!existsSync(CHROMIUM))(`/docs in headless Chromium, offline (${underTest})`, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'users-api-docs-'))
  let service: Service
  let browser: Browser

  beforeAll(async () => {
    service = await startService({ DATABASE_URL: undefined, DATA_DIR: dataDir })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // As this machine requires: no sandbox as root, and no background traffic of Chromium's own.
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await service?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  test('renders the users operations, with no request leaving the service', async () => {
    const page = await browser.newPage()
    const requested: string[] = []
    page.on('request', (request) => void requested.push(request.url()))
    const response = await page.goto(`${service.url}/docs`)
    expect(response?.status()).toBe(200)
    for (const summary of ['Create a user', 'List users by id, filtered, a page at a time', 'Read a user', 'Delete a user'])
      await page.getByText(summary, { exact: true }).first().waitFor({ state: 'visible', timeout: 30_000 })
    await page.screenshot({ path: join(tmpdir(), 'users-api-docs.png'), fullPage: false })
    const outside = requested.filter((url) => !url.startsWith(`${service.url}/`) && !url.startsWith('data:') && !url.startsWith('blob:'))
    expect(outside).toEqual([])
    expect(requested).toContain(`${service.url}/docs/scalar.js`)
    expect(requested).toContain(`${service.url}/openapi.json`)
    await page.close()
  })
})
