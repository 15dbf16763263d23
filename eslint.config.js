import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import vue from 'eslint-plugin-vue';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['node_modules/', 'out/', 'dist-web/', 'resources/', 'test-results/', '.gl/', '.gpu/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...vue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser } },
  },
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: { ...globals.browser, ...globals.node, ...globals.worker },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'vue/multi-word-component-names': 'error',
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off',
      'vue/html-indent': 'off',
      'vue/html-closing-bracket-newline': 'off',
      'vue/multiline-html-element-content-newline': 'off',
    },
  },
  // The host boundary (DESIGN.md): common/ is pure — main, the preloads, the engine and the UI import it, and
  // it imports none of them, nor Electron, Node, the DOM frameworks or tfjs.
  {
    files: ['common/**/*.ts', 'common/**/*.mjs'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/main/**', '**/preload/**', '**/renderer/**'],
              message: 'common/ imports none of main, preload or renderer.',
            },
            {
              group: ['electron', 'node:*', 'vue', 'pinia', 'three', '@tensorflow/*'],
              message: 'common/ is pure: no Electron, Node, UI or tfjs imports.',
            },
          ],
        },
      ],
    },
  },
  // Main never reaches into the renderer (what both sides need lives in common/).
  {
    files: ['main/**/*.ts', 'preload/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ group: ['**/renderer/**'], message: 'Share through common/, not by importing renderer code.' }],
        },
      ],
    },
  },
  // The renderer (UI and engine) never imports main or Electron.
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.vue'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/main/**'],
              message: 'The renderer talks to main only through the preload and common/ipc-contract.',
            },
            { group: ['electron'], message: 'No Node or Electron in renderers.' },
          ],
        },
      ],
    },
  },
);
