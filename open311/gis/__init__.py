"""Service areas: boundary layers, area rules and referrals, facilities, geocoders, area GeoJSON, layer import."""
