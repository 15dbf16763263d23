import { onBeforeUnmount, ref, type Ref } from 'vue';

/** The system light/dark preference, kept current while the component lives. */
export function useColorScheme(): Ref<'light' | 'dark'> {
  const query = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;
  const scheme = ref<'light' | 'dark'>(query?.matches ? 'dark' : 'light');
  const onChange = (e: MediaQueryListEvent) => (scheme.value = e.matches ? 'dark' : 'light');
  query?.addEventListener('change', onChange);
  onBeforeUnmount(() => query?.removeEventListener('change', onChange));
  return scheme;
}
