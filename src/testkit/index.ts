export * from './keys';
export * from './produce';
export * from './evaluation-input';
