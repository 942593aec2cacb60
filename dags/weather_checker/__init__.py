"""The weather-checker diagnostic: forecast, camera image, stack checks and the page that shows them."""
