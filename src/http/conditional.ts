/**
 * Entity tags and the conditional headers of RFC 9110 §13: a user's `ETag` is strong and made from
 * the version its row keeps (`"<id>-<version>"`), so it changes with every write, even two within
 * one millisecond, and a tag of one user never matches another.
 */

/** The `ETag` of version `version` of user `id`. */
export const entityTag = (id: number, version: number) => `"${id}-${version}"`

interface ListedTag {
  weak: boolean
  /** The opaque tag, quotes included. */
  opaque: string
}

// An entity-tag (§8.8.3): an optional `W/`, then a quoted string of visible characters but `"`.
const TAG = /^\s*(W\/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)/

/**
 * An `If-Match` or `If-None-Match` value: `*`, or its entity tags. Members that are not entity
 * tags are skipped (they match nothing), so a malformed header never matches by accident.
 */
const parseTags = (header: string): '*' | ListedTag[] => {
  if (header.trim() === '*') return '*'
  const tags: ListedTag[] = []
  let rest = header
  while (rest.trim() !== '') {
    const match = TAG.exec(rest)
    if (!match) {
      // Not an entity tag: skip to the next member.
      const next = rest.indexOf(',')
      if (next < 0) break
      rest = rest.slice(next + 1)
      continue
    }
    tags.push({ weak: match[1] !== undefined, opaque: match[2]! })
    rest = rest.slice(match[0].length)
  }
  return tags
}

// A header sent empty (as forms and API tools do with a field left blank) is as good as none.
const isAbsent = (header: string | null): header is null => header === null || header.trim() === ''

// The versions of user `id` that `tags` name; `weak`: a weak tag names its version too.
const versionsNamed = (tags: ListedTag[], id: number, weak: boolean) => {
  const versions: number[] = []
  for (const tag of tags) {
    const parts = /^"([1-9]\d{0,15})-([1-9]\d{0,9})"$/.exec(tag.opaque)
    if ((weak || !tag.weak) && parts && Number(parts[1]) === id && Number(parts[2]) <= 2_147_483_647) versions.push(Number(parts[2]))
  }
  return versions
}

/**
 * What `If-Match` allows a request on user `id` to proceed with: `undefined` without the header
 * (or an empty one), `'*'` for any version, else the versions it names (strong comparison: weak
 * tags and other users' tags name none, so an empty list never matches).
 */
export const ifMatchVersions = (header: string | null, id: number): '*' | number[] | undefined => {
  if (isAbsent(header)) return undefined
  const tags = parseTags(header)
  return tags === '*' ? '*' : versionsNamed(tags, id, false)
}

/**
 * The versions of user `id` that `If-None-Match` names (weak comparison): `undefined` without the
 * header, `'*'` for any, else the versions. Named current, a read is a 304 and a change a 412.
 */
export const ifNoneMatchVersions = (header: string | null, id: number): '*' | number[] | undefined => {
  if (isAbsent(header)) return undefined
  const tags = parseTags(header)
  return tags === '*' ? '*' : versionsNamed(tags, id, true)
}

/** Whether versions from `If-Match` or `If-None-Match` (`'*'`: any) name `version`. */
export const namesVersion = (versions: '*' | number[], version: number) => versions === '*' || versions.includes(version)
