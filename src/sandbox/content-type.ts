/**
 * Content-Type for raw file downloads: from the extension, without a charset, as Bitbucket's
 * `/src` endpoint answers. Unknown extensions are octet streams.
 */
const BY_EXTENSION: Record<string, string> = {
  json: 'application/json',
  md: 'text/markdown',
  txt: 'text/plain',
  ts: 'text/x-typescript',
  js: 'application/javascript',
  yml: 'application/x-yaml',
  yaml: 'application/x-yaml',
  html: 'text/html',
  css: 'text/css',
  png: 'image/png',
  py: 'text/x-python',
  sh: 'application/x-sh',
};

export function contentTypeFor(path: string): string {
  const name = path.split('/').pop() ?? path;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
  return BY_EXTENSION[ext] ?? (dot > 0 ? 'application/octet-stream' : 'text/plain');
}
