/** The analysis' types live in the pure common/ layer (the engine protocol carries them). This module keeps the old import path. */
export * from '../../../common/analysis-types';
