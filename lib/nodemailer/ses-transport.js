'use strict';
// Types only: loading it throws (see ../deep-imports.js).
require('../deep-imports').typesOnly('ses-transport');
