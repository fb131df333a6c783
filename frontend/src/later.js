// What the first paint does not need, built as a bundle of its own (annotator-later.js, frontend/build.mjs) and
// imported by load-later.js once the waveform is on screen: the side panel, the regions, suggestions and words
// layers, the spectrogram, the channel mixer and wavesurfer's plugins (the minimap alone carries a second copy of
// wavesurfer). The page boots with half the script to compile. These modules share no state with the first
// bundle: what they need from it (the store, the waveform, the API client) they are given.

export { default as RegionsPlugin } from 'wavesurfer.js/dist/plugins/regions.esm.js';
export { default as TimelinePlugin } from 'wavesurfer.js/dist/plugins/timeline.esm.js';
export { default as MinimapPlugin } from 'wavesurfer.js/dist/plugins/minimap.esm.js';
export { default as HoverPlugin } from 'wavesurfer.js/dist/plugins/hover.esm.js';
export { default as ZoomPlugin } from 'wavesurfer.js/dist/plugins/zoom.esm.js';
export { ChannelMixer } from './channels.js';
export { SidePanel } from './panel.js';
export { RegionsView } from './regions.js';
export { Spectrogram } from './spectrogram.js';
export { SuggestionsLayer } from './suggestions.js';
export { fetchModelSuggestions, modelSegments, showQueueOrder, speechSegments } from './model-suggestions.js';
export { WordsLayer, fetchDraftSegments, fetchWords } from './transcripts.js';
