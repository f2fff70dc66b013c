import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import {
  DEFAULT_REPO,
  normalizeRepoUrl,
  resolveFetchConfig,
  sanitizeRepoName,
} from '../../src/fetch/config.js';
import { sparsePatterns } from '../../src/fetch/repo.js';
import { describeGitError } from '../../src/fetch/git.js';
import { parseKernelFilter } from '../../src/archive/filter.js';

const HOME = '/home/u';
const env = (extra: Record<string, string> = {}): Record<string, string> => ({ HOME, ...extra });

describe('resolveFetchConfig', () => {
  it('defaults to ~/.cache/eunomia/btfhub and the upstream archive', () => {
    const c = resolveFetchConfig({}, env(), '/work');
    expect(c.cache).toBe('/home/u/.cache/eunomia/btfhub');
    expect(c.reposDir).toBe('/home/u/.cache/eunomia/btfhub/btfhub-archive-repos');
    expect(c.viewDir).toBe('/home/u/.cache/eunomia/btfhub/btfhub-archive');
    expect(c.repos).toEqual([
      {
        input: DEFAULT_REPO,
        url: DEFAULT_REPO,
        name: 'https___github.com_aquasecurity_btfhub-archive',
        dir: '/home/u/.cache/eunomia/btfhub/btfhub-archive-repos/https___github.com_aquasecurity_btfhub-archive',
      },
    ]);
    expect(c.source).toEqual({ cache: 'default', repos: 'default' });
  });

  it('reads BTFHUB_CACHE and a comma-separated BTFHUB_REPO, keeping their order', () => {
    const c = resolveFetchConfig({}, env({ BTFHUB_CACHE: '/c', BTFHUB_REPO: 'https://a/x, https://b/y,' }), '/w');
    expect(c.cache).toBe('/c');
    expect(c.repos.map((r) => r.url)).toEqual(['https://a/x', 'https://b/y']);
    expect(c.source).toEqual({ cache: 'BTFHUB_CACHE', repos: 'BTFHUB_REPO' });
  });

  it('accepts the documented BTFHUB_CACHE_DIR and BTFHUB_REPO_URL spellings, the script names first', () => {
    const c = resolveFetchConfig({}, env({ BTFHUB_CACHE_DIR: '/d', BTFHUB_REPO_URL: 'https://u/r' }), '/w');
    expect(c.cache).toBe('/d');
    expect(c.repos.map((r) => r.url)).toEqual(['https://u/r']);
    expect(c.source).toEqual({ cache: 'BTFHUB_CACHE_DIR', repos: 'BTFHUB_REPO_URL' });
    const both = resolveFetchConfig(
      {},
      env({ BTFHUB_CACHE: '/c', BTFHUB_CACHE_DIR: '/d', BTFHUB_REPO: 'https://a/a', BTFHUB_REPO_URL: 'https://u/r' }),
      '/w',
    );
    expect(both.cache).toBe('/c');
    expect(both.repos.map((r) => r.url)).toEqual(['https://a/a']);
  });

  it('ignores empty environment values', () => {
    const c = resolveFetchConfig({}, env({ BTFHUB_CACHE: '  ', BTFHUB_REPO: '', BTFHUB_CACHE_DIR: '/d' }), '/w');
    expect(c.cache).toBe('/d');
    expect(c.repos.map((r) => r.url)).toEqual([DEFAULT_REPO]);
  });

  it('lets flags win over the environment', () => {
    const c = resolveFetchConfig(
      { cache: 'rel/cache', repos: ['https://f/1', 'https://f/2,https://f/3'] },
      env({ BTFHUB_CACHE: '/c', BTFHUB_REPO: 'https://a/x' }),
      '/w',
    );
    expect(c.cache).toBe('/w/rel/cache');
    expect(c.repos.map((r) => r.url)).toEqual(['https://f/1', 'https://f/2', 'https://f/3']);
    expect(c.source).toEqual({ cache: '--cache', repos: '--repo' });
  });

  it('expands ~ in the cache path (environment values are often quoted)', () => {
    expect(resolveFetchConfig({}, env({ BTFHUB_CACHE: '~/x' }), '/w').cache).toBe('/home/u/x');
    expect(resolveFetchConfig({ cache: '~' }, env(), '/w').cache).toBe('/home/u');
  });

  it('drops a repository listed twice and refuses two URLs that share a clone directory', () => {
    const c = resolveFetchConfig({ repos: ['https://a/x', 'https://a/x'] }, env(), '/w');
    expect(c.repos).toHaveLength(1);
    expect(() => resolveFetchConfig({ repos: ['https://a/x_y', 'https://a/x/y'] }, env(), '/w')).toThrow(UsageError);
  });

  it('parses the distro and arch filters', () => {
    const c = resolveFetchConfig({ distros: ['ubuntu/20.04,debian'], arches: ['ARM64'] }, env(), '/w');
    expect(c.filter.distros).toEqual([{ id: 'ubuntu', version: '20.04' }, { id: 'debian' }]);
    expect(c.filter.arches).toEqual(['arm64']);
    expect(c.filter.archDirs).toEqual(['arm64', 'aarch64']);
    expect(() => resolveFetchConfig({ distros: ['../etc'] }, env(), '/w')).toThrow(UsageError);
  });
});

describe('sanitizeRepoName', () => {
  it('replaces [^A-Za-z0-9._-] with _ like the old script', () => {
    expect(sanitizeRepoName('https://github.com/aquasecurity/btfhub-archive')).toBe(
      'https___github.com_aquasecurity_btfhub-archive',
    );
    expect(sanitizeRepoName('git@gitee.com:my org/arch~ive.git')).toBe('git_gitee.com_my_org_arch_ive.git');
    expect(sanitizeRepoName('file:///tmp/a b')).toBe('file____tmp_a_b');
  });

  it('keeps very long names within a file-name component, distinct by hash', () => {
    const a = sanitizeRepoName(`https://h/${'x'.repeat(300)}a`);
    const b = sanitizeRepoName(`https://h/${'x'.repeat(300)}b`);
    expect(a.length).toBeLessThanOrEqual(200);
    expect(a).not.toBe(b);
  });
});

describe('normalizeRepoUrl', () => {
  it('keeps URLs and scp-like addresses, turns paths into file:// URLs', () => {
    expect(normalizeRepoUrl('https://github.com/a/b', '/w')).toBe('https://github.com/a/b');
    expect(normalizeRepoUrl('file:///srv/x', '/w')).toBe('file:///srv/x');
    expect(normalizeRepoUrl('git@github.com:a/b.git', '/w')).toBe('git@github.com:a/b.git');
    expect(normalizeRepoUrl('/srv/archive', '/w')).toBe('file:///srv/archive');
    expect(normalizeRepoUrl('./archive', '/w')).toBe('file:///w/archive');
    expect(normalizeRepoUrl('archive', '/w')).toBe('file:///w/archive');
    expect(normalizeRepoUrl('~/archive', '/w', { HOME })).toBe(`file://${path.join(HOME, 'archive')}`);
  });

  it('rejects empty values and values git would read as options', () => {
    expect(() => normalizeRepoUrl(' ', '/w')).toThrow(UsageError);
    expect(() => normalizeRepoUrl('--upload-pack=touch /tmp/x', '/w')).toThrow(UsageError);
  });
});

describe('sparsePatterns', () => {
  const p = (distros: string[], arches: string[]): string[] | undefined => sparsePatterns(parseKernelFilter({ distros, arches }));
  it('is undefined without a filter (full checkout)', () => {
    expect(p([], [])).toBeUndefined();
  });
  it('selects version directories of a distro, or one version, or arch directories anywhere', () => {
    expect(p(['ubuntu'], [])).toEqual(['/ubuntu/*/']);
    expect(p(['ubuntu/20.04', 'centos'], [])).toEqual(['/ubuntu/20.04/', '/centos/*/']);
    expect(p([], ['x86_64'])).toEqual(['/*/*/x86_64/', '/*/*/amd64/']);
    expect(p(['kylin/V10'], ['aarch64'])).toEqual(['/kylin/V10/aarch64/', '/kylin/V10/arm64/']);
  });
});

describe('describeGitError', () => {
  it('keeps the fatal/error/ssh lines of git output, without progress noise', () => {
    const e = new Error(
      "Cloning into '/c/x'...\nssh: Could not resolve hostname h: Name or service not known\r\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\n",
    );
    expect(describeGitError(e)).toBe('ssh: Could not resolve hostname h: Name or service not known; Could not read from remote repository.');
    expect(describeGitError(new Error('spawn git ENOENT'))).toBe('spawn git ENOENT');
    expect(describeGitError(new Error('error: unable to write file x: No space left on device\nfatal: cannot store pack file'))).toBe(
      'unable to write file x: No space left on device; cannot store pack file (disk full?)',
    );
  });
});
