// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'schema/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', Buffer: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', NodeJS: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='JSON'][callee.property.name='stringify'] > MemberExpression.arguments[property.name='message']",
          message: 'Serialise frames with encodeFrame(), which forwards the peer\'s bytes when nothing changed.',
        },
        {
          selector: "CallExpression[callee.property.name=/^replace(All)?$/] > Literal.arguments:first-child[value='../']",
          message: 'Never "sanitise" a path by deleting ../ (seed 002): resolve it and compare by segments.',
        },
      ],
      // Only the CLI may print; everything else logs through the logger (stdout is the protocol on stdio).
      'no-console': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      // File names are kebab-case (enforced here rather than in prose).
      'no-restricted-imports': ['error', { patterns: [{ regex: '[^/]*[A-Z_][^/]*\\.ts$', caseSensitive: true, message: 'source files are named in kebab-case' }] }],
    },
  },
);
