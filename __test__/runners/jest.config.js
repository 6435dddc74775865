'use strict';
// `npx jest` from this directory: the suites next to this file, in jest's default node
// environment (each test file in a vm context of its own).
module.exports = {
  rootDir: __dirname,
  testMatch: ['<rootDir>/*.test.js'],
  testEnvironment: 'node',
  testTimeout: 20000,
};
