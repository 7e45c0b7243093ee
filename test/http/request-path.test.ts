import { describe, expect, test } from 'bun:test'
import { pathOf } from '../../src/http/request-path'

describe('pathOf()', () => {
  test.each([
    ['http://127.0.0.1:3000/users/12', '/users/12'],
    ['http://localhost/users/12?x=1#top', '/users/12'],
    ['http://localhost/users/me/#a?b', '/users/me/'],
    ['https://example.com:8443/', '/'],
    ['http://localhost', '/'],
    ['http://localhost?x=1', '/'],
    ['/docs', '/docs'],
    ['/docs/?theme=dark', '/docs/'],
    ['/', '/'],
    ['no-path-at-all', '/'],
  ])('%s → %s', (url, path) => {
    expect(pathOf(url)).toBe(path)
  })
})
