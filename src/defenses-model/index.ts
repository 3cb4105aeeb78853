// Defenses that need the model and the client's data (computed through the compute core); each
// ends in a plain Defense from src/defenses, so it composes with the core-free ones.
export { headLayer, soteriaDefense, soteriaKeep, soteriaMask, soteriaScores, type SoteriaMask } from './soteria.js';
