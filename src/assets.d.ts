// Files imported `with { type: 'text' }` (migrations, the settings' descriptions) arrive as strings.
declare module '*.sql' {
  const text: string
  export default text
}
declare module '*.env.example' {
  const text: string
  export default text
}

// Files imported `with { type: 'file' }` arrive as paths (inside a compiled binary, embedded ones).
declare module '*.wasm' {
  const path: string
  export default path
}
declare module '*.data' {
  const path: string
  export default path
}
declare module '*/standalone.js' {
  const path: string
  export default path
}
declare module '*.tgz' {
  const path: string
  export default path
}
declare module '*.tar.gz' {
  const path: string
  export default path
}
